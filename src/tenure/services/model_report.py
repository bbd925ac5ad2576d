"""What the model page and ``tenure model calibration`` show about one registered model.

- :func:`heldout_report`: on a labelled month *after* the model's training
  window (its features never seen in training, early stopping or
  calibration), the calibration table (equal-width probability bins: count,
  mean predicted, observed rate, gap and the gap's binomial standard error),
  the largest gap, the count-weighted mean gap, ROC AUC and friends, and the
  lift and cumulative gains by risk decile. Stored next to the model
  (``<home>/models/<name>/<version>/heldout/<month>.json``), so the page reads
  it without rescoring; a rerun replaces it.
- :func:`drift_history`: the score and feature PSI of every month the model
  scored, from the run summaries of ``tenure run-month``.
- :func:`importance`: the share of the total split gain of each feature.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from tenure.config import Settings
from tenure.domain.errors import InputError, NotFound
from tenure.domain.model import month_add, parse_month
from tenure.engines.warehouse import Warehouse
from tenure.ml import metrics
from tenure.ml.drift import WARN_AT
from tenure.services import models

REPORT_ROWS = 1_000_000
"""Subscribers a held-out report scores at most; larger months are sampled like training snapshots."""
MIN_BIN = 50
"""Bins with fewer customers are listed but left out of ``max_gap`` (their observed rate is noise)."""
TOLERANCE = 0.05
"""Calibration is "within a few points" when every bin of at least ``MIN_BIN`` customers is within
this gap, or within two binomial standard errors of its mean prediction when that is wider."""


def _card(settings: Settings, ident: str) -> dict[str, Any]:
    return models.show_model(settings, ident)


def _report_dir(settings: Settings, card: dict[str, Any]) -> Path:
    return models.registry(settings).root / card["name"] / card["version"] / "heldout"


def calibration_rows(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """:func:`metrics.calibration_table` plus each bin's gap and its binomial standard error."""
    rows = metrics.calibration_table(y, p, bins)
    for r in rows:
        if r["count"]:
            gap = r["observed_rate"] - r["mean_predicted"]
            pred = min(max(r["mean_predicted"], 1e-6), 1 - 1e-6)
            r["gap"] = gap
            r["standard_error"] = math.sqrt(pred * (1 - pred) / r["count"])
            r["within"] = abs(gap) <= max(TOLERANCE, 2 * r["standard_error"])
        else:
            r["gap"] = r["standard_error"] = r["within"] = None
    return rows


def decile_table(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    """Deciles of risk (1 = highest 10%): customers, leavers, rate, lift, cumulative share of leavers."""
    order = np.argsort(-p, kind="stable")
    total = max(int(y.sum()), 1)
    base = float(y.mean()) if len(y) else 0.0
    rows, caught, seen = [], 0, 0
    for k, part in enumerate(np.array_split(order, 10), start=1):
        n = len(part)
        pos = int(y[part].sum())
        caught += pos
        seen += n
        rate = pos / n if n else None
        rows.append({"decile": k, "count": n, "positives": pos, "rate": rate,
                     "mean_predicted": float(p[part].mean()) if n else None,
                     "lift": (rate / base) if (rate is not None and base) else None,
                     "cumulative_share": seen / len(y) if len(y) else None,
                     "cumulative_gain": caught / total})
    return rows


def heldout_report(settings: Settings, ident: str, month: str, bins: int = 10, save: bool = True,
                   max_rows: int = REPORT_ROWS) -> dict[str, Any]:
    """Calibration and lift of model ``ident`` on ``month``, which must come after its training window.

    A month of more than ``max_rows`` subscribers is measured on a stable
    sample of them, as training samples its snapshots (``sample_share`` in the
    report; 0 means every subscriber): every class alike, so the calibration
    table and the metrics estimate the whole month's.
    """
    card = _card(settings, ident)
    m = card["metrics"]
    target, horizon = m.get("target", card["name"]), int(m.get("horizon") or 1)
    month = parse_month(month)
    window = card.get("training_window") or []
    if window and month <= window[-1]:
        raise InputError(
            f"{month} is inside the training window of {card['id']} ({window[0]}..{window[-1]}); "
            f"choose a month after {window[-1]} whose next {horizon} months are loaded")
    wh = Warehouse(settings.warehouse_dir)
    if not wh.has("features", month, "output"):
        raise NotFound(f"no features for {month}: tenure run-month {month}")
    model = models.registry(settings).load(card["name"], card["version"])
    names = list(model.feature_names_in_)
    share = models.sample_share(wh, [month], max_rows)
    feats = models.read_snapshot(wh, month, share, settings.duckdb_threads,
                                 columns=["subscriber_id", *(n for n in names if n != "subscriber_id")])
    labels = models.snapshot_labels(wh, target, month, horizon, feats, sampled=share < 1.0)
    y = feats.subscriber_id.isin(set(labels.subscriber_id)).to_numpy().astype(int)
    if len(y) == 0 or y.min() == y.max():
        raise InputError(f"{month} has only one class of {target} label; cannot measure calibration")
    p = model.predict_proba(feats[names])[:, 1]
    table = calibration_rows(y, p, bins)
    judged = [r for r in table if r["count"] >= MIN_BIN]
    doc = {
        "model_id": card["id"],
        "target": target,
        "horizon": horizon,
        "month": month,
        "labels_until": month_add(month, horizon if target == "churn" else 1),
        "training_window": window,
        "rows": len(y),
        "sample_share": share,
        "positives": int(y.sum()),
        "base_rate": float(y.mean()),
        "mean_predicted": float(p.mean()),
        "metrics": metrics.score(y, p),
        "calibration": table,
        "min_bin": MIN_BIN,
        "tolerance": TOLERANCE,
        "max_gap": max((abs(r["gap"]) for r in judged), default=None),
        "max_gap_bin": next((f"{r['bin_low']:.1f}-{r['bin_high']:.1f}" for r in
                             sorted(judged, key=lambda r: -abs(r["gap"]))), None),
        "max_gap_all_bins": max((abs(r["gap"]) for r in table if r["count"]), default=None),
        "mean_gap": metrics.expected_calibration_error(y, p, bins),
        "within_tolerance": all(r["within"] for r in judged) if judged else None,
        "deciles": decile_table(y, p),
    }
    if save:
        out = _report_dir(settings, card)
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / f".{month}.json.tmp"
        tmp.write_text(json.dumps(doc, indent=2))
        os.replace(tmp, out / f"{month}.json")
    return doc


def stored_reports(settings: Settings, ident: str) -> list[dict[str, Any]]:
    """Held-out reports already computed for this model, oldest month first."""
    card = _card(settings, ident)
    d = _report_dir(settings, card)
    if not d.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(d.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9].json"))]


def drift_history(settings: Settings, ident: str) -> list[dict[str, Any]]:
    """PSI of the score and of each feature for every month this model scored (run summaries)."""
    card = _card(settings, ident)
    wh = Warehouse(settings.warehouse_dir)
    out = []
    for month in wh.months("output", "profiles"):
        d = wh.metadata(month, "output").get("run_summary", {}).get("drift") or {}
        if d.get("model_id") == card["id"]:
            out.append({"month": month, **d})
    return out


def latest_drift(settings: Settings) -> dict[str, Any] | None:
    """The drift section of the newest run that scored with a model, with its month; None if none."""
    wh = Warehouse(settings.warehouse_dir)
    for month in reversed(wh.months("output", "profiles")):
        d = wh.metadata(month, "output").get("run_summary", {}).get("drift")
        if d:
            return {"month": month, **d}
    return None


def importance(settings: Settings, ident: str) -> list[dict[str, Any]]:
    """Each feature's share of the model's total split gain, largest first."""
    card = _card(settings, ident)
    model = models.registry(settings).load(card["name"], card["version"])
    gains = np.asarray(getattr(model, "feature_importances_", np.zeros(len(card["features"]))), dtype=float)
    names = [str(n) for n in getattr(model, "feature_names_in_", card["features"])]
    total = float(gains.sum()) or 1.0
    rows = [{"feature": n, "gain": float(g), "share": float(g) / total} for n, g in zip(names, gains, strict=True)]
    return sorted(rows, key=lambda r: (-r["gain"], r["feature"]))


def model_page(settings: Settings, ident: str) -> dict[str, Any]:
    """Everything the model page shows about one version."""
    card = _card(settings, ident)
    return {
        "card": card,
        "importance": importance(settings, card["id"]),
        "reports": stored_reports(settings, card["id"]),
        "drift": drift_history(settings, card["id"]),
        "threshold": WARN_AT,
    }


def promote(settings: Settings, uow_factory: Any, principal: Any, ident: str) -> dict[str, Any]:
    """Promote a version for scoring on behalf of ``principal`` (needs manage_models), audited."""
    from tenure.domain.roles import Permission
    from tenure.services import audit

    principal.require(Permission.MANAGE_MODELS)
    name, _version = models.parse_model_id(ident)
    pointer = models.registry(settings).root / name / "production.json"
    before = f"{name}/{json.loads(pointer.read_text())['version']}" if pointer.is_file() else None
    doc = models.promote_model(settings, ident, by=principal.name)
    with uow_factory() as uow:
        audit.record(uow, principal.name, "promote_model", "model", doc["id"],
                     {"promoted": before}, {"promoted": doc["id"]})
        uow.commit()
    return doc
