"""The synthetic operator: a believable province's monthly extracts, with ground truth.

``generate`` writes every canonical table per month under ``out/YYYY-MM/``,
chunk by chunk (each chunk with its own generator seeded from (seed, chunk)),
so the same seed always gives byte-identical files and memory stays bounded.
``out/ground_truth/`` holds what the data do not say: who was at risk and
why, who left, hidden channel preferences and responses to care, and every
defect injected with ``dirty``.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.domain.errors import InputError
from tenure.domain.model import CHANNELS, CHURN_TYPES, TABLES, parse_month
from tenure.synthetic.calendar import Window
from tenure.synthetic.dirty import inject
from tenure.synthetic.population import ARCHETYPES, CAUSES, Chunk, Response, build_chunk
from tenure.synthetic.tables import MonthState
from tenure.synthetic.writer import MonthFiles

DEFAULT_END = "2026-10"
CHUNK_SIZE = 200_000
TABLE_INDEX = {name: i for i, name in enumerate(TABLES)}
# Not "subscribers.parquet": a file named after a canonical table would make the
# loader take ground_truth/ for a misnamed month folder.
TRUTH_FILE = "subscriber_truth.parquet"
DEFECTS_FILE = "defects.csv"
DEFECT_COLUMNS = ("month", "table", "file", "line", "column", "kind", "value")
# The arguments of the run, so treatment responses can regenerate the same operator.
MANIFEST_FILE = "manifest.json"
# Written by ``tenure.synthetic.response``; a fresh ``generate`` removes them.
RESPONSE_FILES = ("responses.parquet", "treatment_effects.parquet")


@dataclass
class GenerationReport:
    """What ``generate`` wrote."""

    out: str
    subscribers: int
    months: list[str]
    seed: int
    format: str
    encoding: str
    dirty: float
    rows: dict[str, int] = field(default_factory=dict)
    defects: int = 0
    seconds: float = 0.0
    table_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "out": self.out, "subscribers": self.subscribers, "months": self.months, "seed": self.seed,
            "format": self.format, "encoding": self.encoding, "dirty": self.dirty, "rows": self.rows,
            "total_rows": self.total_rows, "defects": self.defects, "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "table_seconds": {k: round(v, 3) for k, v in self.table_seconds.items()},
        }


def _month_or_null(window: Window, t: np.ndarray, valid: np.ndarray) -> np.ndarray:
    months = np.array(window.months, dtype=object)
    out = np.full(len(t), None, dtype=object)
    out[valid] = months[np.clip(t[valid], 0, window.n - 1)]
    return out


def ground_truth(chunk: Chunk) -> pa.Table:
    """The hidden state of each subscription of a chunk."""
    s, W = chunk.subs, chunk.window
    M = W.n
    ep_from = np.maximum(s.ep_start, 0)
    ep_to = np.minimum(s.ep_start + s.ep_len - 1, M - 1)
    has_ep = (s.cause > 0) & (ep_from <= ep_to)
    cols: dict[str, object] = {
        "subscriber_id": s.ids,
        "customer_id": chunk.customers.ids[s.cust],
        "archetype": np.array(ARCHETYPES, dtype=object)[s.archetype],
        "cause": np.array(CAUSES, dtype=object)[s.cause],
        "at_risk_from": _month_or_null(W, ep_from, has_ep),
        "at_risk_to": _month_or_null(W, ep_to, has_ep),
        "churned": s.churns,
        "churn_month": _month_or_null(W, s.churn_t, s.churns),
        "churn_date": np.where(s.churns, np.datetime_as_string(s.churn_day.astype("datetime64[D]")), None),
        "churn_type": np.where(s.churns, np.array(CHURN_TYPES, dtype=object)[np.maximum(s.churn_type, 0)], None),
        "churn_cause": np.where(s.churns, np.array(CAUSES, dtype=object)[np.maximum(s.churn_cause, 0)], None),
        "returning": s.returning,
    }
    for j, ch in enumerate(CHANNELS):
        cols[f"pref_{ch}"] = np.round(s.channel_pref[:, j], 4)
    cols["effect_marketing_care"] = np.round(s.effect_marketing, 4)
    cols["effect_service_care"] = np.round(s.effect_service, 4)
    # Explicit types: a small chunk may have a column without any value.
    types = {"churned": pa.bool_(), "returning": pa.bool_()}
    return pa.table({k: pa.array(v, type=types.get(k, pa.float64() if k.startswith(("pref_", "effect_")) else pa.string()),
                                 from_pandas=True) for k, v in cols.items()})


def generate(
    out: Path,
    subscribers: int,
    months: int,
    seed: int,
    end: str = DEFAULT_END,
    dirty: float = 0.0,
    fmt: str = "csv",
    encoding: str = "utf-8",
    chunk_size: int = CHUNK_SIZE,
    on_step: Callable[[int, int], None] | None = None,
    responses: dict[int, list[Response]] | None = None,
) -> GenerationReport:
    """Write a synthetic operator of ``subscribers`` (active at the first month) over ``months``.

    ``on_step(done, total)`` is called after each chunk-month, for progress bars.
    ``responses`` (chunk index -> churn rewrites, from ``tenure.synthetic.response``)
    regenerates the operator with the treated subscriptions' responses to care;
    without it the operator is fresh and earlier response files are removed.
    """
    if subscribers < 1 or months < 1:
        raise InputError("subscribers and months must be at least 1")
    if not 0 <= dirty <= 0.5:
        raise InputError("dirty must be between 0 and 0.5")
    if fmt not in ("csv", "parquet"):
        raise InputError("format must be csv or parquet")
    if encoding.lower() not in ("utf-8", "utf8", "gbk", "gb18030"):
        raise InputError("encoding must be utf-8 or gbk")
    try:
        parse_month(end)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    window = Window.ending(end, months)
    out = Path(out)
    for m in window.months:
        if (out / m).exists():
            shutil.rmtree(out / m)
    truth_dir = out / "ground_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    if responses is None:
        for name in RESPONSE_FILES:
            (truth_dir / name).unlink(missing_ok=True)
    manifest = {"subscribers": subscribers, "months": months, "seed": seed, "end": end, "dirty": dirty,
                "format": fmt, "encoding": encoding, "chunk_size": chunk_size}
    (truth_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    report = GenerationReport(out=str(out), subscribers=subscribers, months=list(window.months), seed=seed,
                              format=fmt, encoding="gbk" if encoding.lower() in ("gbk", "gb18030") else "utf-8",
                              dirty=dirty, rows={name: 0 for name in TABLES})
    files = MonthFiles(out, fmt, encoding)
    sizes = [chunk_size] * (subscribers // chunk_size) + ([subscribers % chunk_size] if subscribers % chunk_size else [])
    total_steps = len(sizes) * months
    started = time.perf_counter()
    truth_writer: pq.ParquetWriter | None = None
    with open(truth_dir / DEFECTS_FILE, "w", newline="", encoding="utf-8") as fh:
        defects = csv.writer(fh)
        defects.writerow(DEFECT_COLUMNS)

        def put(month: str, table: str, data: pa.Table, chunk: int, t: int, part: int = 0) -> None:
            if dirty > 0:
                rng = np.random.default_rng(np.random.SeedSequence([seed, chunk, t, TABLE_INDEX[table], part, 99]))
                data, found = inject(table, data, dirty, month, rng)
            else:
                found = []
            line0 = files.write(month, table, data)
            for d in found:
                defects.writerow((month, table, files.relpath(month, table), line0 + d.row, d.column, d.kind, d.value))
            report.defects += len(found)
            report.rows[table] += data.num_rows

        spent = {"shared": 0.0, **{name: 0.0 for name in TABLES}}
        for ci, size in enumerate(sizes):
            clock = time.perf_counter()
            chunk = build_chunk(seed, ci, size, window)
            chunk.responses = list((responses or {}).get(ci, ()))
            spent["shared"] += time.perf_counter() - clock
            gt = ground_truth(chunk)
            if truth_writer is None:
                truth_writer = pq.ParquetWriter(truth_dir / TRUTH_FILE, gt.schema)
            truth_writer.write_table(gt)
            for t, month in enumerate(window.months):
                clock = time.perf_counter()
                state = MonthState(chunk, t, seed)
                spent["shared"] += time.perf_counter() - clock
                for name in TABLES:
                    clock = time.perf_counter()
                    if name == "daily_usage":
                        if t == months - 1:
                            for d, data in enumerate(state.daily_usage()):
                                put(month, name, data, ci, t, d + 1)
                    elif name != "plans" or ci == 0:  # the catalogue is the same for every chunk
                        put(month, name, getattr(state, name)(), ci, t)
                    spent[name] += time.perf_counter() - clock
                if on_step is not None:
                    on_step(ci * months + t + 1, total_steps)
            del chunk
    if truth_writer is not None:
        truth_writer.close()
    files.close(window.months)
    report.table_seconds = spent
    report.seconds = time.perf_counter() - started
    return report


__all__ = ["CHUNK_SIZE", "DEFAULT_END", "MANIFEST_FILE", "GenerationReport", "generate"]
