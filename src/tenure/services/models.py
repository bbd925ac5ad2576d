"""Train churn and downgrade models on monthly snapshots; the model registry's use cases.

Snapshots are the ``features`` outputs of ``tenure run-month``: month M's
features only read months M-5..M, so they are point-in-time. Labels only read
*later* months:

- churn: the subscriber leaves within the next ``horizon`` months: a later
  ``subscribers`` snapshot (M+1..M+H) has status ``churned`` with churn type
  ``voluntary`` or ``port_out``, or the subscriber has no usage row for
  ``inactive_months`` consecutive months inside M+1..M+H (silent churn of
  prepaid cards). Involuntary churn for non-payment is a credit matter, not a
  retention one, and counts as 0.
- downgrade: the subscriber's value level (``profiles.value_level``, 1-5)
  is lower in M+1 than in M.

Subscribers already churned in M are left out (there is no one to keep).

An operator larger than the row budget (``TRAINING_ROWS`` over all snapshots
together, ``--max-rows``) is sampled by subscriber: the same share of every
month, the same subscribers in each (a stable hash of the id), every class
alike, so probabilities, calibration and metrics need no reweighting. Labels
are then computed for the sampled subscribers only, so memory follows the
budget, not the operator.

Validation is by time, never a random split across months: the model learns
from the older snapshots and is stopped and calibrated on the newest
labelled one (``ml/monthly.py``); the metrics come from an out-of-time run that
trains on every snapshot but the newest and scores the newest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tenure.config import Settings
from tenure.domain.errors import InputError, NotFound
from tenure.domain.model import month_add, month_range, parse_month
from tenure.engines.warehouse import Warehouse
from tenure.ml import metrics
from tenure.ml.churn import ChurnModel
from tenure.ml.drift import reference_bins
from tenure.ml.monthly import evaluate_out_of_time, fit_on_snapshots
from tenure.ml.registry import ModelRegistry

TARGETS = ("churn", "downgrade")
MONTH = "snapshot_month"
LABEL = "label"
LEAVING_TYPES = ("voluntary", "port_out")
INACTIVE_MONTHS = 2
"""Months in a row without usage that count as leaving (silent churn)."""
SNAPSHOTS = 6
"""Snapshots used by default (the newest labelled ones)."""
TRAINING_ROWS = 500_000
"""Rows the snapshots may hold together before subscribers are sampled (about 5 GiB to train)."""
LARGE_TRAINING_ROWS = 100_000
"""From this many rows the default model trains on ``duckdb_threads`` threads at ``LARGE_LEARNING_RATE``."""
LARGE_LEARNING_RATE = 0.1
"""On 490,000 snapshot rows it matched the default 0.03 on every held-out metric with 4.7x fewer trees
(docs/model-quality.md): trees are what scoring every subscriber and explaining them costs each month."""
SAMPLE_SCALE = 1 << 20
"""Resolution of the sampling hash: a subscriber is kept when ``hash(id) mod SAMPLE_SCALE`` is below share x scale."""
# Identifiers, raw dates and the month's own outcome never enter a model.
EXCLUDED = {
    "subscriber_id", "customer_id", "plan_id", "group_id", "city", "status", "churn_date", "churn_type",
    "churned_in_month", "activation_date", "contract_end_date", "agreement_end_date",
    # The configured core-customer definition restated from the columns it reads, and changed by configuration.
    "core_reason", "is_core",
}
MAX_CATEGORIES = 50
REFERENCE_FILE = "reference.json"


def registry(settings: Settings) -> ModelRegistry:
    return ModelRegistry(settings.home / "models")


def model_feature_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric, boolean and low-cardinality text columns, minus ids, dates and outcomes."""
    out = []
    for c in frame.columns:
        if c in EXCLUDED or c in (MONTH, LABEL):
            continue
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s) or (
            (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s))
            and s.nunique() <= MAX_CATEGORIES
            and not s.dropna().map(lambda v: hasattr(v, "year")).any()  # dates read as objects
        ):
            out.append(c)
    return out


def _ids(wh: Warehouse, table: str, month: str, area: str = "input", columns: list[str] | None = None,
         among: pa.Array | None = None) -> pd.DataFrame:
    """Columns of a month's table; only the rows of the subscribers ``among`` when given."""
    t = pq.read_table(wh.path(table, month, area), columns=columns)
    if among is not None:
        t = t.filter(pc.is_in(t["subscriber_id"], value_set=among.cast(t.schema.field("subscriber_id").type)))
    return t.to_pandas()


def churn_labels(wh: Warehouse, month: str, horizon: int, inactive_months: int = INACTIVE_MONTHS,
                 among: pa.Array | None = None) -> pd.DataFrame:
    """``subscriber_id, label`` for everyone in any snapshot M+1..M+H who left; reads later months only.

    ``among`` limits the labels to those subscribers (a sampled training frame).
    """
    later = [month_add(month, k) for k in range(1, horizon + 1)]
    missing = [m for m in later if not wh.has("subscribers", m)]
    if missing:
        raise NotFound(f"labels of {month} need the subscribers of {', '.join(missing)}: load them first")
    left: set[str] = set()
    involuntary: set[str] = set()
    for m in later:
        s = _ids(wh, "subscribers", m, columns=["subscriber_id", "status", "churn_type"], among=among)
        churned = s[s.status == "churned"]
        left |= set(churned.loc[churned.churn_type.isin(LEAVING_TYPES), "subscriber_id"])
        involuntary |= set(churned.loc[~churned.churn_type.isin(LEAVING_TYPES), "subscriber_id"])
    # silent churn: no usage row in `inactive_months` consecutive later months
    if inactive_months <= horizon:
        present = [
            set(_ids(wh, "monthly_usage", m, columns=["subscriber_id"], among=among).subscriber_id)
            if wh.has("monthly_usage", m)
            else set()
            for m in later
        ]
        snap = _ids(wh, "subscribers", month, columns=["subscriber_id", "status"], among=among)
        base = set(snap.loc[snap.status != "churned", "subscriber_id"])
        for start in range(horizon - inactive_months + 1):
            window = present[start:start + inactive_months]
            left |= base - set().union(*window)
    left -= involuntary
    return pd.DataFrame({"subscriber_id": sorted(left), LABEL: 1})


def downgrade_labels(wh: Warehouse, month: str, among: pa.Array | None = None) -> pd.DataFrame:
    """``subscriber_id, label``: value level lower in M+1 than in M (from the profiles outputs).

    ``among`` limits the labels to those subscribers (a sampled training frame).
    """
    nxt = month_add(month, 1)
    for m in (month, nxt):
        if not wh.has("profiles", m, "output"):
            raise NotFound(f"downgrade labels of {month} need the profiles of {m}: tenure run-month {m}")
    now = _ids(wh, "profiles", month, "output", ["subscriber_id", "value_level"], among)
    later = _ids(wh, "profiles", nxt, "output", ["subscriber_id", "value_level"], among)
    both = now.merge(later, on="subscriber_id", suffixes=("", "_next"))
    fell = both[both.value_level_next < both.value_level]
    return pd.DataFrame({"subscriber_id": fell.subscriber_id.to_numpy(), LABEL: 1})


def snapshot_months(wh: Warehouse, until: str, horizon: int, snapshots: int = SNAPSHOTS) -> list[str]:
    """The newest ``snapshots`` months M <= until - H whose features have been computed."""
    last = month_add(parse_month(until), -horizon)
    run = set(wh.months("output", "features"))
    first = month_add(last, -(snapshots - 1))
    return [m for m in month_range(first, last) if m in run]


def sample_share(wh: Warehouse, months: list[str], max_rows: int) -> float:
    """Share of subscribers to keep so the snapshots hold at most about ``max_rows`` rows (1.0: everyone).

    Counts every row of each month's features (the month's churned included,
    which the frame then leaves out), read from the files' footers.
    ``max_rows`` 0 means no limit.
    """
    rows = sum(pq.ParquetFile(wh.path("features", m, "output")).metadata.num_rows for m in months)
    return 1.0 if max_rows <= 0 or rows <= max_rows else max_rows / rows


def read_snapshot(wh: Warehouse, month: str, share: float, threads: int,
                  columns: list[str] | None = None) -> pd.DataFrame:
    """The month's features of subscribers not churned in it; a stable ``share`` of them when below 1.

    A subscriber is kept when ``hash(subscriber_id) mod SAMPLE_SCALE`` is
    below ``share * SAMPLE_SCALE``: the same subscribers in every month.
    ``columns`` (default all) are read with the file's own types, in the
    file's row order.
    """
    path = wh.path("features", month, "output")
    schema = pq.read_schema(path)
    if columns is not None:
        schema = pa.schema([schema.field(c) for c in columns])
    select = ", ".join('"' + c.replace('"', '""') + '"' for c in schema.names)
    params: list[object] = [str(path)]
    sample = ""
    if share < 1.0:
        sample, params = " AND hash(subscriber_id) % ? < ?", [*params, SAMPLE_SCALE, round(share * SAMPLE_SCALE)]
    with duckdb.connect(config={"threads": threads}) as con:
        t = con.sql(f"SELECT {select} FROM read_parquet(?) WHERE status IS DISTINCT FROM 'churned'{sample}",
                    params=params).to_arrow_table()
    return t.cast(schema).to_pandas()


def snapshot_labels(wh: Warehouse, target: str, month: str, horizon: int, snapshot: pd.DataFrame,
                    sampled: bool) -> pd.DataFrame:
    """``subscriber_id, label`` of ``target`` for ``month``; among ``snapshot``'s subscribers only when it is a sample."""
    among = pa.array(snapshot.subscriber_id.to_numpy()) if sampled else None
    if target == "churn":
        return churn_labels(wh, month, horizon, among=among)
    return downgrade_labels(wh, month, among)


def training_frame(
    settings: Settings, target: str, horizon: int, until: str, snapshots: int = SNAPSHOTS,
    max_rows: int = TRAINING_ROWS,
) -> pd.DataFrame:
    """Features of each snapshot month with its label and ``snapshot_month``.

    Beyond ``max_rows`` (all snapshots together) the same stable share of
    subscribers is taken from every month; ``frame.attrs["sample_share"]``
    says which share (1.0 when nobody was left out).
    """
    if target not in TARGETS:
        raise InputError(f"target must be one of {', '.join(TARGETS)}")
    if horizon < 1:
        raise InputError("horizon must be at least 1 month")
    if max_rows < 0:
        raise InputError("max_rows must be 0 (no limit) or more")
    wh = Warehouse(settings.warehouse_dir)
    months = snapshot_months(wh, until, horizon, snapshots)
    if len(months) < 2:
        wanted = month_add(parse_month(until), -horizon)
        raise NotFound(
            f"need features of at least two months up to {wanted} (until {until} minus a {horizon}-month horizon); "
            f"found {months or 'none'}: run `tenure run-month` for those months first"
        )
    share = sample_share(wh, months, max_rows)
    parts = []
    for m in months:
        f = read_snapshot(wh, m, share, settings.duckdb_threads)
        f = f.merge(snapshot_labels(wh, target, m, horizon, f, sampled=share < 1.0), on="subscriber_id", how="left")
        f[LABEL] = f[LABEL].fillna(0).astype("int64")
        f[MONTH] = m
        parts.append(f)
    frame = pd.concat(parts, ignore_index=True)
    frame.attrs["sample_share"] = share
    return frame


def default_model(settings: Settings, rows: int) -> ChurnModel:
    """The estimator ``train`` uses for ``rows`` snapshot rows when none is given.

    Small tables train on one thread (synchronisation dominates) at
    ChurnModel's own learning rate. From ``LARGE_TRAINING_ROWS`` they use
    ``duckdb_threads`` threads (the trees are deterministic: the thread count
    changes the time, not the model) and ``LARGE_LEARNING_RATE``: with more
    rows early stopping keeps adding trees at the slow rate (1,972 trees on
    980,000 rows) for no held-out gain, and every tree costs scoring time.
    """
    if rows < LARGE_TRAINING_ROWS:
        return ChurnModel(num_threads=1)
    return ChurnModel(num_threads=settings.duckdb_threads, learning_rate=LARGE_LEARNING_RATE)


def train(
    settings: Settings,
    target: str,
    horizon: int,
    until: str,
    snapshots: int = SNAPSHOTS,
    model: ChurnModel | None = None,
    notes: str = "",
    max_rows: int = TRAINING_ROWS,
) -> dict[str, Any]:
    """Train a model for ``target`` and register it as the next version of ``target``.

    At most ``max_rows`` snapshot rows are learnt from (:func:`training_frame`).
    """
    frame = training_frame(settings, target, horizon, until, snapshots, max_rows)
    share = float(frame.attrs.get("sample_share", 1.0))
    features = model_feature_columns(frame)
    data = frame[[*features, LABEL, MONTH]]
    del frame  # ids and text columns the model does not read: up to a GiB at the default budget
    months = sorted(data[MONTH].unique())
    for m in months[-1:]:
        if data.loc[data[MONTH] == m, LABEL].nunique() < 2:
            raise InputError(f"the snapshot of {m} has only one class of {target} label; cannot validate")
    base = model or default_model(settings, len(data))
    evaluation: dict[str, Any] = {}
    if len(months) >= 3:
        evaluation = evaluate_out_of_time(data, label=LABEL, test_month=months[-1], month_column=MONTH, model=base)
    fitted = fit_on_snapshots(data, label=LABEL, month_column=MONTH, model=base)
    newest = data[data[MONTH] == months[-1]]
    if not evaluation:
        # two snapshots: the only held-out rows are the early-stopping ones (optimistic)
        p = fitted.predict_proba(newest[features])[:, 1]
        y = newest[LABEL].to_numpy()
        evaluation = {"test_month": months[-1], "training_months": months[:-1], "rows": len(newest),
                      "metrics": metrics.score(y, p), "calibration": metrics.calibration_table(y, p),
                      "note": "two snapshots only: measured on the early-stopping month"}
    scores = fitted.predict_proba(data[features])[:, 1]
    card_metrics = {
        **evaluation["metrics"],
        "base_rate": float(newest[LABEL].mean()),
        "validation_month": evaluation["test_month"],
        "calibration": evaluation["calibration"],
        "target": target,
        "horizon": horizon,
        "snapshots": months,
        "sample_share": share,
    }
    reg = registry(settings)
    card = reg.register(target, fitted, metrics=card_metrics, features=features,
                        training=data, training_window=(months[0], months[-1]), notes=notes)
    # Reference distributions for drift: every numeric feature and the score over the training rows.
    reference = {"score": reference_bins(scores), "features": {}}
    for c in features:
        if pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]):
            reference["features"][c] = reference_bins(data[c].astype(float).to_numpy())
    (reg.root / target / card.version / REFERENCE_FILE).write_text(json.dumps(reference))
    return {"model": card.as_dict(), "rows": len(data), "positives": int(data[LABEL].sum()), "sample_share": share,
            "rows_by_month": {m: int((data[MONTH] == m).sum()) for m in months}}


def model_id(name: str, version: str) -> str:
    return f"{name}/{version}"


def parse_model_id(ident: str) -> tuple[str, str | None]:
    """``churn/v0002`` -> (churn, v0002); ``churn`` -> (churn, None)."""
    name, _, version = ident.partition("/")
    return name, version or None


def list_models(settings: Settings, name: str | None = None) -> list[dict[str, Any]]:
    return [_summary(c.as_dict()) for c in registry(settings).list(name)]


def _summary(card: dict[str, Any]) -> dict[str, Any]:
    m = card["metrics"]
    return {"id": model_id(card["name"], card["version"]), "name": card["name"], "version": card["version"],
            "created_at": card["created_at"], "promoted": card["promoted"], "rows": card["rows"],
            "training_window": card["training_window"],
            **{k: m.get(k) for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier", "horizon")}}


def show_model(settings: Settings, ident: str) -> dict[str, Any]:
    name, version = parse_model_id(ident)
    card = registry(settings).show(name, version).as_dict()
    return {"id": model_id(card["name"], card["version"]), **card}


def promote_model(settings: Settings, ident: str, by: str = "") -> dict[str, Any]:
    name, version = parse_model_id(ident)
    if version is None:
        raise InputError("promote needs a version: NAME/vNNNN (see tenure model list)")
    card = registry(settings).promote(name, version, by=by).as_dict()
    return {"id": model_id(name, version), **card}


def compare_models(settings: Settings, a: str, b: str) -> dict[str, Any]:
    na, va = parse_model_id(a)
    nb, vb = parse_model_id(b)
    if na != nb:
        raise InputError("compare two versions of the same model, e.g. churn/v0001 churn/v0002")
    if va is None or vb is None:
        raise InputError("compare needs two versions: NAME/vNNNN NAME/vNNNN")
    return registry(settings).compare(na, va, vb)


def promoted(settings: Settings, name: str) -> tuple[str, Any, dict[str, Any]] | None:
    """(model id, fitted model, drift reference) of the promoted ``name`` model, or None."""
    reg = registry(settings)
    pointer = reg.root / name / "production.json"
    if not pointer.is_file():
        return None
    card = reg.show(name)
    ref_path = reg.root / name / card.version / REFERENCE_FILE
    reference = json.loads(ref_path.read_text()) if ref_path.is_file() else {}
    return model_id(name, card.version), reg.load(name, card.version), reference


def reference_path(root: Path, name: str, version: str) -> Path:
    return root / name / version / REFERENCE_FILE


def version_dir(settings: Settings, ident: str) -> Path:
    """The registry directory of ``churn/v0002``: where files kept with the model live."""
    name, version = parse_model_id(ident)
    if version is None:
        raise InputError(f"{ident!r} names no version: NAME/vNNNN")
    return registry(settings).root / name / version


RULE_FAMILIES = ("retention", "prevention")
"""Warning families that flag churn risk (maintenance and value uplift do not)."""


def compare_with_rules(
    settings: Settings, ident: str, month: str, horizon: int, reasons_per_customer: int = 5
) -> dict[str, Any]:
    """Precision of the model and of the rule warnings at the same coverage in ``month``.

    The rules' list is every subscriber with a retention or prevention warning
    of ``month``; the model's list is as many subscribers, highest churn
    probability first. Precision is the share of a list that leaves within
    ``horizon`` months (the training label). Use a month after the model's
    training window for an honest comparison. ``caught`` holds the model's
    true positives with the features of their top reasons.
    """
    from tenure.ml.reasons import top_reasons

    name, version = parse_model_id(ident)
    model = registry(settings).load(name, version)
    wh = Warehouse(settings.warehouse_dir)
    month = parse_month(month)
    feats = pq.read_table(wh.path("features", month, "output")).to_pandas()
    feats = feats[feats.status != "churned"].reset_index(drop=True)
    labels = set(churn_labels(wh, month, horizon).subscriber_id)
    y = feats.subscriber_id.isin(labels).to_numpy()
    warn = pq.read_table(wh.path("warnings", month, "output")).to_pandas()
    warned = set(warn.loc[warn.family.isin(RULE_FAMILIES), "subscriber_id"])
    rule_list = feats.subscriber_id.isin(warned).to_numpy()
    k = int(rule_list.sum())
    if k == 0:
        raise InputError(f"no rule warnings in {month} to compare with")
    names = list(model.feature_names_in_)
    p = model.predict_proba(feats[names])[:, 1]
    top = np.argsort(-p, kind="stable")[:k]
    caught = top[y[top]]
    contrib = model.contributions(feats.iloc[caught][names])
    reasons = top_reasons(contrib, feats.iloc[caught][names].reset_index(drop=True),
                          feats.subscriber_id.to_numpy()[caught], reasons_per_customer)
    return {
        "model_id": ident,
        "month": month,
        "horizon": horizon,
        "subscribers": len(feats),
        "leavers": int(y.sum()),
        "base_rate": float(y.mean()),
        "coverage": k,
        "rules_precision": float(y[rule_list].mean()),
        "model_precision": float(y[top].mean()),
        "model_roc_auc": metrics.roc_auc(y, p),
        "caught": {str(s): list(g.feature) for s, g in reasons.groupby("key")},
    }
