"""The quarantine: every rejected row, with where it came from and why.

``<home>/quarantine/<YYYY-MM>/<table>.csv`` (UTF-8 with a byte-order mark so
spreadsheet programs show Chinese text correctly) has one line per rejected
row: ``source_file, line, column, reason`` followed by the row's raw values
under the source file's own column names. A row failing several checks is one
line; its columns and reasons are joined with ``; ``. Records with the wrong
number of fields keep their fields in order; fields beyond the header go to
``extra_fields``.
"""

from __future__ import annotations

import codecs
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tenure.engines.sources import SourceTable
from tenure.services.loading_checks import CheckedTable

HEAD = ("source_file", "line", "column", "reason")


def quarantine_rows(src: SourceTable, checked: CheckedTable) -> pa.Table:
    """All rejected rows of one source file, ordered by line."""
    parts: list[pa.Table] = []
    bad_rows = np.flatnonzero(checked.bad)
    names = list(src.columns)
    extra_needed = any(len(r.fields) > len(names) for r in src.bad_records)
    if len(bad_rows):
        pieces = []
        for order, p in enumerate(checked.problems):
            rows = np.flatnonzero(p.mask)
            pieces.append(
                pa.table(
                    {
                        "row": pa.array(rows, pa.int64()),
                        "order": pa.array(np.full(len(rows), order), pa.int64()),
                        "column": pa.array([p.column] * len(rows), pa.string()),
                        "reason": p.reasons(rows),
                    }
                )
            )
        flat = pa.concat_tables(pieces).sort_by([("row", "ascending"), ("order", "ascending")])
        grouped = flat.group_by("row", use_threads=False).aggregate(
            [("column", "list"), ("reason", "list")]
        )
        grouped = grouped.sort_by("row")
        rows = grouped.column("row").to_numpy()
        columns = pc.binary_join(grouped.column("column_list"), "; ")
        reasons = pc.binary_join(grouped.column("reason_list"), "; ")
        raw = src.data.take(pa.array(rows))
        cols = {
            "source_file": pa.array([str(src.path)] * len(rows), pa.string()),
            "line": pa.array(src.lines[rows], pa.int64()),
            "column": columns,
            "reason": reasons,
        }
        for n in names:
            cols[n] = raw.column(n).cast(pa.string())
        if extra_needed:
            cols["extra_fields"] = pa.nulls(len(rows), pa.string())
        parts.append(pa.table(cols))
    if src.bad_records:
        recs = src.bad_records
        cols = {
            "source_file": pa.array([str(src.path)] * len(recs), pa.string()),
            "line": pa.array([r.line for r in recs], pa.int64()),
            "column": pa.array([""] * len(recs), pa.string()),
            "reason": pa.array([r.reason for r in recs], pa.string()),
        }
        for i, n in enumerate(names):
            cols[n] = pa.array(
                [r.fields[i] if i < len(r.fields) else None for r in recs], pa.string()
            )
        if extra_needed:
            cols["extra_fields"] = pa.array(
                [",".join(r.fields[len(names) :]) or None for r in recs], pa.string()
            )
        parts.append(pa.table(cols))
    if not parts:
        return pa.table({h: pa.array([], pa.int64() if h == "line" else pa.string()) for h in HEAD})
    return pa.concat_tables(parts).sort_by("line")


def reason_counts(src: SourceTable, checked: CheckedTable) -> Counter[str]:
    """Rows per reason, grouped by rule (not by value)."""
    counts: Counter[str] = Counter()
    for p in checked.problems:
        counts[p.label] += int(p.mask.sum())
    for _ in src.bad_records:
        counts["wrong number of fields"] += 1
    return counts


def most_frequent(counts: Counter[str], k: int) -> list[tuple[str, int]]:
    """The ``k`` most frequent reasons, most frequent first (ties by name)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def top_reasons(src: SourceTable, checked: CheckedTable, k: int) -> list[tuple[str, int]]:
    """The most frequent reasons (grouped by rule, not by value), most frequent first."""
    return most_frequent(reason_counts(src, checked), k)


def write_quarantine(rows: pa.Table, path: Path) -> None:
    """Write the quarantine file atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(codecs.BOM_UTF8)
        pacsv.write_csv(rows, fh, pacsv.WriteOptions(include_header=True))
    os.replace(tmp, path)


class QuarantineSink:
    """Collects a table's rejected rows piece by piece, on disk, then writes the quarantine file.

    Pieces come in file order, each ordered by line, so the file is ordered
    by line as a whole. The ``extra_fields`` column is written only when some
    record of the whole file had more fields than the header, as for a file
    read at once.
    """

    def __init__(self, work_dir: Path, columns: list[str]) -> None:
        self.path = Path(work_dir) / "quarantine.arrow"
        self.columns = list(columns)
        fields = [pa.field(h, pa.int64() if h == "line" else pa.string()) for h in HEAD]
        fields += [pa.field(c, pa.string()) for c in self.columns]
        fields.append(pa.field("extra_fields", pa.string()))
        self.schema = pa.schema(fields)
        self.rows = 0
        self.extra_needed = False
        self._writer: pa.ipc.RecordBatchFileWriter | None = None

    def add(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if "extra_fields" in rows.column_names:
            self.extra_needed = True
        else:
            rows = rows.append_column("extra_fields", pa.nulls(rows.num_rows, pa.string()))
        rows = rows.select(self.schema.names).cast(self.schema)
        if self._writer is None:
            self._writer = pa.ipc.new_file(str(self.path), self.schema)
        self._writer.write_table(rows)
        self.rows += rows.num_rows

    def finish(self, target: Path) -> int:
        """Write ``target`` (or remove an old one when nothing was rejected); rows written."""
        if self._writer is None:
            if target.exists():
                target.unlink()  # a clean reload must not leave an old quarantine behind
            return 0
        self._writer.close()
        self._writer = None
        names = self.schema.names if self.extra_needed else self.schema.names[:-1]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        with pa.memory_map(str(self.path)) as source, open(tmp, "wb") as fh:
            stored = pa.ipc.open_file(source)
            fh.write(codecs.BOM_UTF8)
            schema = pa.schema([stored.schema.field(n) for n in names])
            with pacsv.CSVWriter(fh, schema) as out:
                for i in range(stored.num_record_batches):
                    out.write_batch(stored.get_batch(i).select(names))
        os.replace(tmp, target)
        self.path.unlink()
        return self.rows
