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

The features file is read once, in Arrow record batches of ``BATCH_ROWS``
rows, never as one pandas table: each batch becomes the model's float matrix
(``ChurnModel.design_matrix``), is scored by the compiled predictor
(``ml/compiled.py``; LightGBM when it is unavailable or disagrees), adds to
the drift bins of every reference feature, and leaves behind the rows that
may still be acted on (the highest probabilities so far). A thread reads the
next batches, fills their matrices and counts their drift bins while the
current one is scored (``_PreparedBatches``). Reasons are then
computed for the acted-on rows only, without reading the file again, from
exact contribution tables (``ml/tree_shap.py``; LightGBM's ``pred_contrib``
when they cannot be built or disagree); anyone else's are computed when asked
(``services/reasons_on_demand.py``). Memory
is bounded by a few batches, a few columns per subscriber and about twice the
acted-on rows, whatever the month's size. Settings:
``<home>/config/early_warning.yaml`` (``action_share``,
``reasons_per_customer``, ``drift_warn``).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from tenure.config import Settings
from tenure.domain.errors import ConfigurationError
from tenure.ml import compiled, drift, tree_shap
from tenure.ml.reasons import top_reasons
from tenure.services import models

BATCH_ROWS = 50_000
"""Rows per record batch of the scoring pass: 50,000 read and converted 1.4x faster than 200,000
(the batch's columns and its matrix, ~80 MB for 200 features, stay closer to the CPU)."""
READ_BUFFER = 1 << 20
TABLES_MIN_ROWS = 5_000
"""Acted-on rows from which building a model's contribution tables (once, then kept) beats
LightGBM's ``pred_contrib``; below it kept tables are still used, but none are built."""
REASON_CHUNK_ROWS = 20_000
"""Acted-on rows explained together (twenty blocks of the contribution tables)."""
PREPARED_AHEAD = 1
"""Batches read and turned into matrices ahead of the one being scored (one buffer per
batch in flight, plus one being filled and one being scored)."""
CHECK_ROWS = 2_000
"""Rows of the first batch on which a compiled predictor must agree with LightGBM."""
CHECK_ROWS_CONTRIBUTIONS = 200
"""Acted-on rows on which the contribution tables must agree with LightGBM."""

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


def risk_deciles(p: np.ndarray, keys: Any) -> np.ndarray:
    """1-10 by rank of ``p`` (10 = highest); equal probabilities ordered by key.

    ``keys`` is a numpy or Arrow array. A group of equal probabilities needs
    its keys sorted only when it straddles a decile boundary (otherwise all
    of it lands in one decile whatever its order), so ten million
    subscribers cost one float sort and at most nine small key sorts, even
    when most probabilities are shared.

    >>> risk_deciles(np.array([.1, .9, .5, .3]), np.array(["a", "b", "c", "d"])).tolist()
    [1, 8, 6, 3]
    """
    n = len(p)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(p, kind="stable")  # ascending probability, then position
    ordered = p[order]
    for k in range(1, 10):
        first = -(-k * n // 10)  # the first rank of decile k + 1
        if 0 < first < n and ordered[first - 1] == ordered[first]:
            lo = int(np.searchsorted(ordered, ordered[first], side="left"))
            hi = int(np.searchsorted(ordered, ordered[first], side="right"))
            rows = order[lo:hi]  # one group of equal p, in position order
            order[lo:hi] = rows[np.argsort(_key_ranks(keys, rows), kind="stable")]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return (rank * 10 // n + 1).astype(np.int64)


def _key_ranks(keys: Any, rows: np.ndarray) -> np.ndarray:
    """Rank of each of ``keys[rows]`` as text (stable: equal keys keep their order)."""
    if isinstance(keys, (pa.Array, pa.ChunkedArray)):
        text = pc.fill_null(pc.cast(keys.take(pa.array(rows)), pa.string()), "None")
        order = pc.sort_indices(text).to_numpy()
    else:
        order = np.argsort(np.asarray(keys)[rows].astype(str), kind="stable")
    ranks = np.empty(len(rows), dtype=np.int64)
    ranks[order] = np.arange(len(rows))
    return ranks


def acted_on(p: np.ndarray, deciles: np.ndarray, share: float) -> np.ndarray:
    """Row indices of the customers to act on: deciles 9-10, highest first, at most ``share`` of all."""
    cap = max(1, math.ceil(share * len(p))) if len(p) else 0
    top = np.flatnonzero(deciles >= 9)
    return top[np.argsort(-p[top], kind="stable")][:cap]


def _floats(column: pa.Array) -> np.ndarray:
    """A numeric or boolean column as float64, nulls as NaN (as pandas' ``to_numpy(dtype=float)``)."""
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.asarray(pc.fill_null(pc.cast(column, pa.float64()), np.nan))


class _CheckedOnce:
    """A fast implementation, kept for the run only if it agrees with the reference on the first rows it sees.

    ``agrees(fast, rows)`` is the module's ``agrees_with_lightgbm`` (None when
    they differ); ``fast`` is None when it could not be built.
    """

    def __init__(self, fast: Any, agrees: Any, rows: int) -> None:
        self.fast, self._agrees, self._rows, self._checked = fast, agrees, rows, False

    def __call__(self, matrix: np.ndarray) -> Any:
        """The fast implementation for ``matrix``, or None: use the reference."""
        if self.fast and not self._checked:
            self._checked = True
            if self._agrees(self.fast, matrix[: self._rows]) is None:
                self.fast = None
        return self.fast


class _Probabilities:
    """A model's probabilities of design matrices: compiled (``ml/compiled.py``) when possible.

    The compiled predictor's block size is tuned on the first matrix large
    enough (``compiled.tune``, once per model and host: the choice is cached);
    it is then checked against LightGBM on the first ``CHECK_ROWS`` rows and
    dropped for the run if they differ. ``seconds_compile`` includes the
    tuning.
    """

    def __init__(self, settings: Settings, ident: str, model: Any) -> None:
        clock = time.perf_counter()
        self.model = model
        self.scorers = _CheckedOnce(compiled.compile_model(model, models.version_dir(settings, ident)),
                                    lambda fast, rows: compiled.agrees_with_lightgbm(model, fast, rows), CHECK_ROWS)
        self.seconds_compile = time.perf_counter() - clock

    @property
    def block_trees(self) -> list[int] | None:
        """Trees per block of each compiled member (lleaves' ``fblocksize``), None without them."""
        return [m.block for m in self.scorers.fast] if self.scorers.fast else None

    @property
    def engine(self) -> str:
        return "lleaves" if self.scorers.fast else "lightgbm"

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        if self.scorers.fast and not all(member.tuned for member in self.scorers.fast):
            clock = time.perf_counter()
            compiled.tune(self.scorers.fast, matrix)
            self.seconds_compile += time.perf_counter() - clock
        scorers = self.scorers(matrix)
        raw = [score(matrix) for score in scorers] if scorers else None
        return self.model.probability(matrix, raw)


class _Contributions:
    """The churn model's contributions: exact tables (``ml/tree_shap.py``) when possible.

    The tables are checked against LightGBM's ``pred_contrib`` on the first
    ``CHECK_ROWS_CONTRIBUTIONS`` rows and dropped for the run if they differ.
    """

    def __init__(self, model: Any, cache_dir: Path | None = None, build: bool = True) -> None:
        self.model = model
        self.explainers = _CheckedOnce(tree_shap.explain_model(model, cache_dir, build=build),
                                       lambda fast, rows: tree_shap.agrees_with_lightgbm(model, fast, rows),
                                       CHECK_ROWS_CONTRIBUTIONS)

    @property
    def engine(self) -> str:
        return "tables" if self.explainers.fast else "lightgbm"

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.contribution_matrix(matrix, self.explainers(matrix)))


@dataclass
class _Candidate:
    rows: np.ndarray  # positions in the file
    p: np.ndarray
    features: pa.RecordBatch  # subscriber_id and the churn model's features of those rows


class _Candidates:
    """The rows that may still be among the ``keep`` highest probabilities, kept as the batches stream by.

    After every batch the floor is the ``keep``-th highest probability seen so
    far; it only rises, and every row at or above the final floor (ties
    included) is still held at the end. Held rows are re-filtered once there
    are twice as many as needed, so memory stays about ``2 * keep`` rows.
    """

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.held: list[_Candidate] = []
        self.floor = -np.inf

    def offer(self, batch: pa.RecordBatch, start: int, p: np.ndarray) -> None:
        if self.keep == 0:
            return
        held_p = np.concatenate([c.p for c in self.held] + [p])
        if len(held_p) >= self.keep:
            self.floor = max(self.floor, float(np.partition(held_p, len(held_p) - self.keep)[len(held_p) - self.keep]))
        take = np.flatnonzero(p >= self.floor)
        if len(take):
            self.held.append(_Candidate(take + start, p[take], batch.take(pa.array(take))))
        if sum(len(c.rows) for c in self.held) > 2 * self.keep:
            self.held = [self._above_floor(c) for c in self.held]

    def _above_floor(self, c: _Candidate) -> _Candidate:
        keep = np.flatnonzero(c.p >= self.floor)
        return _Candidate(c.rows[keep], c.p[keep], c.features.take(pa.array(keep)))

    def select(self, wanted: np.ndarray) -> list[tuple[np.ndarray, pa.RecordBatch]]:
        """(file rows, their features) of the ``wanted`` rows, batch by batch."""
        parts = []
        found = 0
        # One sort of the wanted rows, then a binary search per held row: np.isin per
        # held piece sorted the wanted rows again for each (4 s for 100,000 rows at 10M).
        w = np.unique(wanted)
        if not len(w):
            return []
        for c in self.held:
            pos = np.minimum(np.searchsorted(w, c.rows), len(w) - 1)
            at = np.flatnonzero(w[pos] == c.rows)
            if len(at):
                parts.append((c.rows[at], c.features.take(pa.array(at))))
                found += len(at)
        if found != len(w):
            raise AssertionError(f"{len(wanted) - found} acted-on rows were dropped while scoring")
        return parts


def _acted_count(n: int, share: float) -> int:
    """How many rows :func:`acted_on` can return: the cap, or deciles 9-10 if fewer."""
    if n == 0:
        return 0
    cap = max(1, math.ceil(share * n))
    top_two = n - (-(8 * n) // 10)  # rows whose rank * 10 // n is 8 or 9
    return min(cap, top_two)


@dataclass
class _Prepared:
    batch: pa.RecordBatch
    churn: np.ndarray  # the churn model's design matrix of the batch
    down: np.ndarray | None  # the downgrade model's, when one is promoted
    seconds: float  # spent making the matrices


class _PreparedBatches:
    """The file's record batches with their design matrices and drift bins, made in a thread ahead of scoring.

    Reading and decoding a batch, filling its matrices and counting its
    drift bins run on one core; the compiled predictor runs on all of them.
    Done one after the other they left a core idle much of the pass; here
    a thread prepares the next batches while the caller scores the last one.
    Batches come in file order. Each batch in flight has its own matrix
    buffers, reused once the caller has moved past them, so memory stays at
    ``PREPARED_AHEAD + 2`` matrices. An error in the thread is raised in the
    caller; a caller that stops early stops the thread.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch], churn_model: Any, down_model: Any | None,
                 drift_edges: dict[str, np.ndarray]) -> None:
        self._batches, self._churn, self._down = batches, churn_model, down_model
        self._edges = drift_edges
        self.drift_counts = {k: np.zeros(len(e) + 2, dtype=np.int64) for k, e in drift_edges.items()}
        """Rows per drift bin of each feature (:func:`drift.bin_counts`), complete once iterated."""
        self.seconds_drift = 0.0
        ring = PREPARED_AHEAD + 2
        self._buffers = [
            (np.empty((BATCH_ROWS, len(churn_model.feature_names_in_))),
             np.empty((BATCH_ROWS, len(down_model.feature_names_in_))) if down_model is not None else None)
            for _ in range(ring)
        ]
        self._queue: queue.Queue[_Prepared | BaseException | None] = queue.Queue(maxsize=PREPARED_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tenure-scoring-read", daemon=True)

    def _put(self, item: _Prepared | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for i, batch in enumerate(self._batches):
                lap = time.perf_counter()
                churn_out, down_out = self._buffers[i % len(self._buffers)]
                churn = self._churn.design_matrix(batch, out=churn_out)
                down = self._down.design_matrix(batch, out=down_out) if self._down is not None else None
                made = time.perf_counter()
                for k, edges in self._edges.items():
                    self.drift_counts[k] += drift.bin_counts(_floats(batch.column(k)), edges)
                self.seconds_drift += time.perf_counter() - made
                if not self._put(_Prepared(batch, churn, down, made - lap)):
                    return
            self._put(None)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller
            self._put(exc)

    def __iter__(self) -> Iterator[_Prepared]:
        self._thread.start()
        try:
            while (item := self._queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()
            self._thread.join()


def score_features(settings: Settings, features_path: Path) -> ScoringResult | None:
    """Scores, reasons and drift for the features file; None without a promoted churn model.

    One pass over the file in record batches: design matrix, probabilities
    (compiled predictor when available), the drift bins of every reference
    feature, and the rows that may be acted on. Reasons are computed after
    the pass for the acted-on rows only.
    """
    churn = models.promoted(settings, "churn")
    if churn is None:
        return None
    clock = time.perf_counter()
    cfg = load_config(settings.home)
    churn_id, churn_model, reference = churn
    down = models.promoted(settings, "downgrade")
    names = [str(n) for n in churn_model.feature_names_in_]
    columns = sorted({"subscriber_id", *names, *(down[1].feature_names_in_ if down else [])})
    # Without pre-buffering, and with a small read buffer, the reader holds one batch's
    # pages at a time; pre-buffered column chunks stayed allocated for the whole pass.
    file = pq.ParquetFile(features_path, pre_buffer=False, buffer_size=READ_BUFFER)
    available = set(file.schema_arrow.names)
    missing = [c for c in columns if c not in available]
    if missing:
        raise ConfigurationError(f"model {churn_id} needs features this month lacks: {missing[:10]}")
    churn_p = _Probabilities(settings, churn_id, churn_model)
    down_p = _Probabilities(settings, down[0], down[1]) if down else None
    compiled_before = churn_p.seconds_compile + (down_p.seconds_compile if down_p else 0.0)
    drift_refs = {k: v for k, v in reference.get("features", {}).items() if k in available}
    drift_edges = {k: np.asarray(v["edges"], dtype=float) for k, v in drift_refs.items()}
    n = file.metadata.num_rows
    candidates = _Candidates(_acted_count(n, cfg.action_share))
    ids: list[pa.Array] = []
    probs: list[np.ndarray] = []
    downs: list[np.ndarray] = []
    seconds_probabilities = 0.0
    start = 0
    prepared = _PreparedBatches(file.iter_batches(batch_size=BATCH_ROWS, columns=columns), churn_model,
                                down[1] if down else None, drift_edges)
    for item in prepared:
        batch = item.batch
        lap = time.perf_counter()
        ids.append(batch.column("subscriber_id"))
        p_batch = churn_p(item.churn)
        probs.append(p_batch)
        if down_p is not None and item.down is not None:
            downs.append(down_p(item.down))
        seconds_probabilities += item.seconds + time.perf_counter() - lap
        candidates.offer(batch.select(["subscriber_id", *names]), start, p_batch)
        start += batch.num_rows
    seconds_drift = prepared.seconds_drift
    # The block sizes are tuned inside the first batches' probabilities: count them as compiling.
    seconds_compile = churn_p.seconds_compile + (down_p.seconds_compile if down_p else 0.0)
    seconds_probabilities -= seconds_compile - compiled_before
    sid = pc.cast(pa.chunked_array(ids, type=file.schema_arrow.field("subscriber_id").type), pa.string())
    p = np.concatenate(probs) if probs else np.array([])
    deciles = risk_deciles(p, sid)
    scores = pa.table({
        "subscriber_id": sid,
        "churn_probability": pa.array(p, pa.float64()),
        "risk_decile": pa.array(deciles, pa.int64()),
        "model_id": pa.repeat(pa.scalar(churn_id, pa.string()), len(p)),
        "downgrade_probability": (pa.array(np.concatenate(downs), pa.float64()) if down_p and downs
                                  else pa.nulls(len(p), pa.float64())),
    }, schema=SCORE_SCHEMA)

    scored_at = time.perf_counter()
    acted = acted_on(p, deciles, cfg.action_share)
    reasons, explained_by = _reasons(candidates.select(acted), churn_model, sid, p, deciles, churn_id,
                                     cfg.reasons_per_customer, models.version_dir(settings, churn_id))
    reasons_at = time.perf_counter()
    feature_psi = {k: round(drift.psi(drift_refs[k]["shares"], drift.shares(c)), 4)
                   for k, c in prepared.drift_counts.items() if c.sum() > 0}
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
    seconds_drift += time.perf_counter() - reasons_at
    summary = {
        "churn_model": churn_id,
        "downgrade_model": down[0] if down else None,
        "scored": len(p),
        "acted_on": len(acted),
        "action_share": cfg.action_share,
        "mean_churn_probability": round(float(p.mean()), 4) if len(p) else None,
        "reason_families": {str(k): int(v) for k, v in
                            pd.Series(reasons.column("family").to_pylist()).value_counts().sort_index().items()},
        "predictor": churn_p.engine,
        "predictor_block_trees": churn_p.block_trees,
        "contributions": explained_by,
        "seconds": round(time.perf_counter() - clock, 3),
        "seconds_compile": round(seconds_compile, 3),
        "seconds_scoring_pass": round(scored_at - clock - seconds_compile, 3),
        "seconds_probabilities": round(seconds_probabilities, 3),
        "seconds_drift": round(seconds_drift, 3),
        "seconds_reasons": round(reasons_at - scored_at, 3),
    }
    return ScoringResult(scores=scores, reasons=reasons, summary=summary, drift=drift_doc)


def explain_rows(model: Any, contributions: np.ndarray, rows: pa.RecordBatch, keys: Any, top: int) -> pd.DataFrame:
    """:func:`top_reasons` of feature rows, given their contributions (``model.contribution_matrix``).

    ``rows`` hold the churn model's features. A reason's value text does not
    depend on the pandas type of its column (``reasons.value_text``), so it
    is the same whichever rows are explained together.
    """
    names = [str(n) for n in model.feature_names_in_]
    return top_reasons(pd.DataFrame(contributions, columns=[*names, "bias"]),
                       rows.select(names).to_pandas(), keys, top)


def _reasons(parts: list[tuple[np.ndarray, pa.RecordBatch]], model: Any, sid: pa.ChunkedArray,
             p: np.ndarray, deciles: np.ndarray, churn_id: str, top: int,
             cache_dir: Path | None = None) -> tuple[pa.Table, str | None]:
    """Contributions and phrases of the acted-on rows, held from the scoring pass.

    Each part is rows of one batch. Returns the reasons and what computed
    the contributions (None without acted-on rows). The contribution tables
    are kept in ``cache_dir`` (the model's registry directory) between runs.
    """
    if not parts:
        return REASON_SCHEMA.empty_table(), None
    # The rows held from a large month come in small pieces (a few hundred per
    # batch): gathered into chunks of REASON_CHUNK_ROWS, they take a few calls
    # of the tables and of LightGBM instead of a few per piece.
    file_rows = np.concatenate([at for at, _ in parts])
    held = pa.Table.from_batches([rows for _, rows in parts])
    # Tables not kept yet cost ~15 s to build for a 500-tree model: for a few
    # rows LightGBM is cheaper (and the tables wait for a larger run).
    contributions = _Contributions(model, cache_dir, build=len(file_rows) >= TABLES_MIN_ROWS)
    long = []
    for start in range(0, len(file_rows), REASON_CHUNK_ROWS):
        rows = held.slice(start, REASON_CHUNK_ROWS).combine_chunks()
        long.append(explain_rows(model, contributions(model.design_matrix(rows)), rows,
                                 file_rows[start:start + REASON_CHUNK_ROWS], top))
    table = pd.concat(long, ignore_index=True)
    explained_by = contributions.engine
    if table.empty:
        return REASON_SCHEMA.empty_table(), explained_by
    at = table.key.to_numpy(dtype=np.int64)
    table = table.drop(columns="key").assign(
        subscriber_id=sid.take(pa.array(at)).to_numpy(zero_copy_only=False),
        churn_probability=p[at], risk_decile=deciles[at], model_id=churn_id)
    table = table.sort_values(["churn_probability", "subscriber_id", "rank"], ascending=[False, True, True])
    reasons = pa.Table.from_pandas(table[[f.name for f in REASON_SCHEMA]], schema=REASON_SCHEMA, preserve_index=False)
    return reasons, explained_by
