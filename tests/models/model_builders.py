"""A small operator written straight into the warehouse: input snapshots and
``features``/``profiles`` outputs, so model tests need no monthly run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.config import Settings
from tenure.domain.model import month_range
from tenure.engines.warehouse import Warehouse


@dataclass
class Operator:
    months: list[str]
    # month -> {subscriber_id: churn_type} of those leaving in that month
    churns: dict[str, dict[str, str]] = field(default_factory=dict)
    # month -> subscribers with no usage row (silent)
    silent: dict[str, set[str]] = field(default_factory=dict)


def build_operator(root: Path, n: int = 600, first: str = "2026-01", last: str = "2026-08", seed: int = 1) -> Operator:
    """Subscribers whose risk shows in ``complaints_3m`` and ``offnet_share_change``
    the month before they leave; some leave for non-payment, some go silent."""
    rng = np.random.default_rng(seed)
    months = month_range(first, last)
    wh = Warehouse(root)
    ids = np.array([f"S{i:05d}" for i in range(n)])
    gone: set[str] = set()
    op = Operator(months=months)
    # plan each subscriber's leaving month (or none) in advance
    leave_at = {}
    for sid in ids:
        if rng.random() < 0.35:
            leave_at[sid] = (int(rng.integers(1, len(months))), str(rng.choice(["voluntary", "port_out", "non_payment"], p=[.45, .45, .1])))
    level_of = {sid: int(v) for sid, v in zip(ids, rng.integers(2, 5, n), strict=True)}
    silent_from = {sid: int(rng.integers(1, len(months))) for sid in ids if sid not in leave_at and rng.random() < 0.05}
    for k, m in enumerate(months):
        leaving = {sid: t for sid, (at, t) in leave_at.items() if at == k}
        op.churns[m] = leaving
        op.silent[m] = {sid for sid, at in silent_from.items() if k >= at}
        alive = [s for s in ids if s not in gone]
        status = ["churned" if s in leaving else "active" for s in alive]
        subs = pd.DataFrame({"subscriber_id": alive, "status": status,
                             "churn_type": [leaving.get(s) for s in alive]})
        usage = pd.DataFrame({"subscriber_id": [s for s in alive if s not in leaving and s not in op.silent[m]]})
        # features: risk signs in the month before leaving (and a bit of noise)
        soon = {sid for sid, (at, _) in leave_at.items() if at in (k + 1, k + 2)}
        risky = np.array([s in soon for s in alive])
        feats = pd.DataFrame({
            "subscriber_id": alive,
            "status": status,
            "churn_type": [leaving.get(s) for s in alive],
            "region": rng.choice(["north", "south"], size=len(alive)),
            "complaints_3m": rng.poisson(0.3 + 2.0 * risky),
            "offnet_share_change": rng.normal(0.0, 0.05, len(alive)) + 0.15 * risky,
            "arpu_avg3": rng.gamma(4.0, 20.0, len(alive)),
            "contract_months_left": rng.integers(-3, 24, len(alive)),
            "month_index": k,  # equals the snapshot month: a point-in-time marker
        })
        level = np.array([level_of[s] for s in alive])
        profiles = pd.DataFrame({"subscriber_id": alive,
                                 "value_level": level - risky.astype(int) * rng.integers(0, 2, len(alive))})
        with wh.write_month(m, "input") as out:
            out.write("subscribers", pa.Table.from_pandas(subs, preserve_index=False))
            out.write("monthly_usage", pa.Table.from_pandas(usage, preserve_index=False))
        with wh.write_month(m, "output") as out:
            out.write("features", pa.Table.from_pandas(feats, preserve_index=False))
            out.write("profiles", pa.Table.from_pandas(profiles, preserve_index=False))
        gone |= set(leaving)
    return op


# -- a scored month of the web builders' customers ------------------------------------------------
SCORED_FEATURES = ("complaints_3m", "contract_months_left", "other_op_cs_calls_3m", "offnet_share_change",
                   "mou_pct_change", "arpu_avg3", "recharge_irregular", "region")
NULLS_AT = {"complaints_3m": (3, 30, 55), "contract_months_left": (11, 40), "recharge_irregular": (20,)}
"""File rows with a null: with batches of 13 rows, some batches hold a null of an integer column and
others none."""


def _feature_frame(n: int, regions: list[str], rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({
        "complaints_3m": rng.poisson(0.8, n).astype(float),
        "contract_months_left": rng.integers(0, 24, n).astype(float),
        "other_op_cs_calls_3m": rng.poisson(0.5, n).astype(float),
        "offnet_share_change": rng.normal(0.0, 0.1, n),
        "mou_pct_change": rng.normal(0.0, 0.3, n),
        "arpu_avg3": rng.gamma(4.0, 20.0, n),
        "recharge_irregular": rng.random(n) < 0.3,
        "region": rng.choice(regions, n),
    })


def build_scored_month(settings: Settings, ids: dict, month: str, row_group_rows: int = 5,
                       action_share: float = 0.1) -> Path:
    """Train and promote a small churn model, then write ``month``'s features and what scoring stores.

    ``ids`` is ``tests.web.web_builders.build_warehouse``'s; its ``month`` output (profiles, warnings)
    gains the features (row groups of ``row_group_rows``; integer and boolean columns with nulls at
    ``NULLS_AT``), ``model_scores``, ``reasons`` and the model's columns in the profiles, as
    ``tenure run-month`` leaves them. Score with ``scoring.BATCH_ROWS`` as the caller wants it.
    Returns the features file.
    """
    from tenure.ml.churn import ChurnModel
    from tenure.services import models, scoring

    rng = np.random.default_rng(11)
    regions = list(ids["regions"])
    train = _feature_frame(3000, regions, rng)
    z = (0.9 * train.complaints_3m + 6 * train.offnet_share_change - 0.15 * train.contract_months_left
         + 0.7 * train.other_op_cs_calls_3m - 2 * train.mou_pct_change + train.recharge_irregular - 1.0)
    y = (rng.random(len(train)) < 1 / (1 + np.exp(-z))).astype(int)
    train["recharge_irregular"] = train.recharge_irregular.astype(float)
    names = list(SCORED_FEATURES)
    half = len(train) // 2
    model = ChurnModel(num_leaves=(7,), max_rounds=60, early_stopping_rounds=20, inner_splits=2, num_threads=1).fit(
        train[names].iloc[:half], y[:half], eval_set=(train[names].iloc[half:], y[half:]))
    reg = models.registry(settings)
    card = reg.register("churn", model, metrics={}, features=names, training=train.head(100),
                        training_window=("2025-12", "2026-01"))
    reg.promote("churn", card.version)

    subs = [s[0] for s in ids["subscribers"]]
    feats = _feature_frame(len(subs), regions, rng)
    columns: dict[str, pa.Array] = {"subscriber_id": pa.array(subs)}
    for name in names:
        values = feats[name].tolist()
        if name in ("complaints_3m", "contract_months_left", "other_op_cs_calls_3m"):
            values = [int(v) for v in values]
        for at in NULLS_AT.get(name, ()):
            values[at] = None
        columns[name] = pa.array(values)
    root = settings.home / "scored-features"
    root.mkdir(parents=True, exist_ok=True)
    path = root / "features.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=row_group_rows)

    (settings.home / "config").mkdir(exist_ok=True)
    (settings.home / "config" / "early_warning.yaml").write_text(f"action_share: {action_share}\n")
    result = scoring.score_features(settings, path)
    assert result is not None
    wh = Warehouse(settings.warehouse_dir)
    profiles = wh.read_arrow("profiles", month, "output").to_pandas().merge(
        result.scores.to_pandas()[["subscriber_id", "churn_probability", "risk_decile", "model_id"]],
        on="subscriber_id", how="left")
    warnings = wh.read_arrow("warnings", month, "output")
    with wh.write_month(month, "output") as out:
        out.copy_from("features", path)
        out.write("model_scores", result.scores)
        out.write("reasons", result.reasons)
        out.write("profiles", pa.Table.from_pandas(profiles, preserve_index=False))
        out.write("warnings", warnings)
    return wh.path("features", month, "output")
