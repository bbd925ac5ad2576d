"""Score a month's subscribers with the promoted models; reasons for those acted on; drift.

Called by the monthly cycle right after the features are written. Without a
promoted churn model it does nothing (the rules alone warn). With one:

- every subscriber gets ``churn_probability``, ``risk_decile`` (1-10, 10 =
  highest risk; deciles by rank, ties broken by subscriber id) and
  ``model_id``; ``downgrade_probability`` too when a downgrade model is
  promoted;
- the customers to act on are the top two deciles, highest probability
  first, capped at ``action_share`` of the subscribers (5% by default); for
  them the ``reasons`` table holds the strongest ``reasons_per_customer``
  contributions as business phrases (English and Chinese) with the strategy
  family that answers each (``ml/reasons.py``);
- drift: the population stability index of every numeric feature and of the
  score between the model's training window and this month; any above
  ``drift_warn`` (0.2) raises a drift warning in the run summary.

The features file is read in batches of ``BATCH_ROWS`` rows, so memory is
bounded by the batch and a few columns per subscriber, whatever the month's
size. Settings: ``<home>/config/early_warning.yaml`` (``action_share``,
``reasons_per_customer``, ``drift_warn``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from tenure.config import Settings
from tenure.domain.errors import ConfigurationError
from tenure.ml import drift
from tenure.ml.reasons import top_reasons
from tenure.services import models

BATCH_ROWS = 200_000

SCORE_SCHEMA = pa.schema([
    ("subscriber_id", pa.string()),
    ("churn_probability", pa.float64()),
    ("risk_decile", pa.int64()),
    ("model_id", pa.string()),
    ("downgrade_probability", pa.float64()),
])
REASON_SCHEMA = pa.schema([
    ("subscriber_id", pa.string()),
    ("churn_probability", pa.float64()),
    ("risk_decile", pa.int64()),
    ("rank", pa.int64()),
    ("feature", pa.string()),
    ("value", pa.string()),
    ("contribution", pa.float64()),
    ("reason_en", pa.string()),
    ("reason_zh", pa.string()),
    ("family", pa.string()),
    ("model_id", pa.string()),
])


@dataclass(frozen=True)
class EarlyWarningConfig:
    action_share: float = 0.05
    reasons_per_customer: int = 5
    drift_warn: float = drift.WARN_AT


def load_config(home: Path) -> EarlyWarningConfig:
    path = home / "config" / "early_warning.yaml"
    if not path.is_file():
        return EarlyWarningConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        cfg = EarlyWarningConfig(**data)
    except (yaml.YAMLError, TypeError) as exc:
        raise ConfigurationError(f"early_warning.yaml: {exc}") from exc
    if not 0 < cfg.action_share <= 1 or cfg.reasons_per_customer < 1:
        raise ConfigurationError("early_warning.yaml: action_share in (0, 1], reasons_per_customer >= 1")
    return cfg


@dataclass
class ScoringResult:
    scores: pa.Table
    reasons: pa.Table
    summary: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)


def risk_deciles(p: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """1-10 by rank of ``p`` (10 = highest); equal probabilities ordered by key.

    >>> risk_deciles(np.array([.1, .9, .5, .3]), np.array(["a", "b", "c", "d"])).tolist()
    [1, 8, 6, 3]
    """
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((keys, p))  # ascending probability, then key
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return (rank * 10 // n + 1).astype(np.int64)


def acted_on(p: np.ndarray, deciles: np.ndarray, share: float) -> np.ndarray:
    """Row indices of the customers to act on: deciles 9-10, highest first, at most ``share`` of all."""
    cap = max(1, math.ceil(share * len(p))) if len(p) else 0
    top = np.flatnonzero(deciles >= 9)
    return top[np.argsort(-p[top], kind="stable")][:cap]


def _batches(path: Path, columns: list[str]) -> Any:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        yield batch.to_pandas()


def _take(batch: pa.RecordBatch, rows: np.ndarray) -> pd.DataFrame:
    """``batch.to_pandas().iloc[rows]`` without converting the other rows.

    pandas types follow the whole batch, as the full conversion would: an
    integer column with a null anywhere in the batch is float, a boolean one
    object, even if the taken rows have none.
    """
    frame = batch.take(pa.array(rows)).to_pandas()
    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        if col.null_count and not frame[name].hasnans:
            if pa.types.is_integer(col.type):
                frame[name] = frame[name].astype("float64")
            elif pa.types.is_boolean(col.type):
                frame[name] = frame[name].astype(object)
    return frame


def score_features(settings: Settings, features_path: Path) -> ScoringResult | None:
    """Scores, reasons and drift for the features file; None without a promoted churn model."""
    churn = models.promoted(settings, "churn")
    if churn is None:
        return None
    clock = time.perf_counter()
    cfg = load_config(settings.home)
    churn_id, churn_model, reference = churn
    down = models.promoted(settings, "downgrade")
    names = list(churn_model.feature_names_in_)
    columns = sorted({"subscriber_id", *names, *(down[1].feature_names_in_ if down else [])})
    available = set(pq.ParquetFile(features_path).schema_arrow.names)
    missing = [c for c in columns if c not in available]
    if missing:
        raise ConfigurationError(f"model {churn_id} needs features this month lacks: {missing[:10]}")
    ids, probs, downs = [], [], []
    drift_refs = {k: v for k, v in reference.get("features", {}).items() if k in available}
    drift_counts = {k: np.zeros(len(v["shares"])) for k, v in drift_refs.items()}
    for frame in _batches(features_path, columns):
        ids.append(frame.subscriber_id.to_numpy(dtype=object))
        probs.append(churn_model.predict_proba(frame[names])[:, 1])
        if down:
            downs.append(down[1].predict_proba(frame[list(down[1].feature_names_in_)])[:, 1])
        for k, ref in drift_refs.items():
            shares = drift._shares(frame[k].to_numpy(dtype=float), np.asarray(ref["edges"]))
            drift_counts[k] += shares * len(frame)
    sid = np.concatenate(ids) if ids else np.array([], dtype=object)
    p = np.concatenate(probs) if probs else np.array([])
    deciles = risk_deciles(p, sid.astype(str))
    scores = pa.table({
        "subscriber_id": pa.array(sid, pa.string()),
        "churn_probability": pa.array(p, pa.float64()),
        "risk_decile": pa.array(deciles, pa.int64()),
        "model_id": pa.array([churn_id] * len(sid), pa.string()),
        "downgrade_probability": pa.array(np.concatenate(downs) if down and downs else [None] * len(sid),
                                          pa.float64()),
    }, schema=SCORE_SCHEMA)

    scored_at = time.perf_counter()
    acted = acted_on(p, deciles, cfg.action_share)
    reasons = _reasons(features_path, names, churn_model, acted, sid, p, deciles, churn_id,
                       cfg.reasons_per_customer)
    feature_psi = {k: round(drift.psi(drift_refs[k]["shares"], c / c.sum()), 4)
                   for k, c in drift_counts.items() if c.sum() > 0}
    score_psi = round(drift.psi_against(reference["score"], p), 4) if "score" in reference and len(p) else None
    drifted = sorted(k for k, v in feature_psi.items() if v > cfg.drift_warn)
    card = models.show_model(settings, churn_id)
    drift_doc = {
        "model_id": churn_id,
        "reference_window": card["training_window"],
        "threshold": cfg.drift_warn,
        "score_psi": score_psi,
        "features": dict(sorted(feature_psi.items(), key=lambda kv: -kv[1])),
        "drifted_features": drifted,
        "warning": bool(drifted) or (score_psi is not None and score_psi > cfg.drift_warn),
    }
    if drift_doc["warning"]:
        drift_doc["message"] = (
            f"population shifted since {churn_id} was trained "
            f"(score PSI {score_psi}, {len(drifted)} features above {cfg.drift_warn}): re-check or retrain"
        )
    summary = {
        "churn_model": churn_id,
        "downgrade_model": down[0] if down else None,
        "scored": len(sid),
        "acted_on": len(acted),
        "action_share": cfg.action_share,
        "mean_churn_probability": round(float(p.mean()), 4) if len(p) else None,
        "reason_families": {str(k): int(v) for k, v in
                            pd.Series(reasons.column("family").to_pylist()).value_counts().sort_index().items()},
        "seconds": round(time.perf_counter() - clock, 3),
        "seconds_reasons": round(time.perf_counter() - scored_at, 3),
    }
    return ScoringResult(scores=scores, reasons=reasons, summary=summary, drift=drift_doc)


def _reasons(path: Path, names: list[str], model: Any, acted: np.ndarray, sid: np.ndarray, p: np.ndarray,
             deciles: np.ndarray, churn_id: str, top: int) -> pa.Table:
    """Contributions for the acted-on rows only (a second pass over the batches)."""
    if len(acted) == 0:
        return REASON_SCHEMA.empty_table()
    wanted = np.sort(acted)
    parts = []
    start = 0
    # Only the acted-on rows (1-5 %) are turned into pandas; the rest of each
    # batch is skipped in Arrow.
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=["subscriber_id", *names]):
        end = start + batch.num_rows
        lo, hi = np.searchsorted(wanted, [start, end])
        if hi > lo:
            rows = _take(batch, wanted[lo:hi] - start)
            contrib = model.contributions(rows[names])
            parts.append(top_reasons(contrib, rows[names], rows.subscriber_id.to_numpy(), top))
        start = end
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if long.empty:
        return REASON_SCHEMA.empty_table()
    index = pd.Series(np.arange(len(sid)), index=sid.astype(str))
    at = index.loc[long.key.astype(str)].to_numpy()
    long = long.rename(columns={"key": "subscriber_id"}).assign(
        churn_probability=p[at], risk_decile=deciles[at], model_id=churn_id)
    long = long.sort_values(["churn_probability", "subscriber_id", "rank"], ascending=[False, True, True])
    return pa.Table.from_pandas(long[[f.name for f in REASON_SCHEMA]], schema=REASON_SCHEMA, preserve_index=False)
