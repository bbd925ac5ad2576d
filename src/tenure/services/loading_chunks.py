"""Check and stage one table file in pieces, so memory follows the piece size, not the file.

A file no larger than ``Settings.load_chunk_bytes`` is one piece and goes
through the loader as a whole: checked, sorted by key in memory, written.
A larger one takes two passes over its pieces (``read_source_chunks``):

1. every piece is read and the text of each row's key staged on disk, with
   its line; DuckDB then finds the keys seen more than once and, for each
   later occurrence, the line of the first. Whole-file problems (encoding,
   truncated last line, header only) surface in this pass, before anything
   of the table is checked.
2. every piece is read again and checked with those duplicates; its good
   rows go to a staging Parquet file with their line, its rejected rows to
   the quarantine sink. The staged rows are then sorted by key (and line,
   for rows whose key has an empty optional part) by DuckDB under a memory
   limit, spilling to disk, and written to the month's version in the same
   row groups as a table written at once.

Counts, reasons, the quarantine file, the ids other tables may point at and
the published table are the same as for the file read at once. A file whose
pieces cannot be lined up on their own (stray quote characters) is read at
once instead.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.domain.model import TableSpec
from tenure.engines.schema import arrow_schema
from tenure.engines.sources import SourceTable, WholeFileNeeded, read_source, read_source_chunks
from tenure.engines.warehouse import MonthWriter
from tenure.services.loading_checks import check_table, key_text
from tenure.services.loading_quarantine import QuarantineSink, quarantine_rows, reason_counts

ROW_GROUP = 1_000_000  # as MonthWriter.write, so a table written in pieces is the same file
LINE = "__line"
SORT_BATCH = 64 * 1024  # rows per batch read back from the DuckDB sort


@dataclass
class TableOutcome:
    """What loading one table file gave: counts, reasons, and ids for later tables."""

    source_file: str
    format: str
    encoding: str | None
    read: int = 0
    loaded: int = 0
    quarantined: int = 0
    knock_on: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    quarantine_file: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    pieces: int = 0
    # "table.column" -> values loaded / values of rows set aside, for reference checks.
    known: dict[str, pa.Array] = field(default_factory=dict)
    set_aside: dict[str, pa.Array] = field(default_factory=dict)


@dataclass
class SortLimits:
    """DuckDB resources for finding duplicates and sorting a table staged in pieces."""

    memory_limit: str
    threads: int


def load_table(
    spec: TableSpec,
    path: Path,
    month: str,
    encoding: str | None,
    known: dict[str, pa.Array],
    set_aside: dict[str, pa.Array],
    referenced: list[str],
    writer: MonthWriter,
    quarantine_file: Path,
    chunk_bytes: int | None,
    work_root: Path,
    limits: SortLimits,
) -> TableOutcome:
    """Read, check and stage ``path`` as table ``spec`` in the month's new version.

    ``referenced`` lists the ``"table.column"`` names other tables point at;
    the outcome carries their loaded and set-aside values. Raises LoadError for
    whole-file problems before the table's quarantine file or output is written.
    """
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".load-{spec.name}-", dir=work_root))
    try:
        return _Loader(
            spec, path, month, encoding, known, set_aside, referenced, writer, work, limits
        ).run(chunk_bytes, quarantine_file)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Loader:
    def __init__(
        self,
        spec: TableSpec,
        path: Path,
        month: str,
        encoding: str | None,
        known: dict[str, pa.Array],
        set_aside: dict[str, pa.Array],
        referenced: list[str],
        writer: MonthWriter,
        work: Path,
        limits: SortLimits,
    ) -> None:
        self.spec, self.path, self.month, self.encoding = spec, path, month, encoding
        self.known, self.set_aside, self.writer, self.work = known, set_aside, writer, work
        self.limits = limits
        self.own_refs = [
            (ref, ref.split(".")[1]) for ref in referenced if ref.split(".")[0] == spec.name
        ]
        self.loaded_ids: dict[str, list[pa.Array]] = {ref: [] for ref, _ in self.own_refs}
        self.aside_ids: dict[str, list[pa.Array]] = {ref: [] for ref, _ in self.own_refs}

    # -- passes ------------------------------------------------------------------
    def run(self, chunk_bytes: int | None, quarantine_file: Path) -> TableOutcome:
        allow_empty = self.spec.allow_empty
        pieces = read_source_chunks(self.path, self.encoding, allow_empty, chunk_bytes)
        whole: SourceTable | None = None
        head: list[SourceTable] = []
        try:
            head.append(next(pieces))
            second = next(pieces, None)
            if second is None:
                whole = head.pop()
            else:
                head.append(second)
                del second
                dups = self._find_duplicates(head, pieces)
        except WholeFileNeeded:
            head.clear()
            whole = read_source(self.path, self.encoding, allow_empty)
        if whole is not None:
            result = self._outcome(whole)
            self._check(whole, None, result, staged=None)
            self._finish(result, quarantine_file)
            return result
        out: TableOutcome | None = None
        staged: pq.ParquetWriter | None = None
        staging = self.work / "rows.parquet"
        for src in read_source_chunks(self.path, self.encoding, allow_empty, chunk_bytes):
            if out is None:
                out = self._outcome(src)
                schema = arrow_schema(self.spec.name).append(pa.field(LINE, pa.int64()))
                staged = pq.ParquetWriter(staging, schema, compression="lz4")
            self._check(src, dups, out, staged)
        assert out is not None and staged is not None
        staged.close()
        self._write_sorted(staging)
        self._finish(out, quarantine_file)
        return out

    def _outcome(self, src: SourceTable) -> TableOutcome:
        self.sink = QuarantineSink(self.work, src.columns)
        return TableOutcome(str(src.path), src.format, src.encoding)

    def _find_duplicates(
        self, head: list[SourceTable], rest: Iterator[SourceTable]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pass 1: stage every complete key with its line; DuckDB finds the repeats.

        ``head`` (the pieces already read) is emptied as it is used, so no
        piece stays in memory longer than needed.
        """
        keys_dir = self.work / "keys"
        keys_dir.mkdir()
        n = 0
        for src in _drain(head, rest):
            key, complete = key_text(self.spec, src)
            if complete.any():
                rows = pa.array(np.flatnonzero(complete))
                part = pa.table({"key": key.take(rows), "line": pa.array(src.lines).take(rows)})
                pq.write_table(part, keys_dir / f"{n:06d}.parquet", compression="lz4")
                n += 1
        if n == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        con = self._duckdb()
        try:
            # DuckDB reads the staged files itself, within its memory limit; the path is a parameter.
            found = con.sql(
                "WITH keys AS (SELECT key, line FROM read_parquet($files)), "
                "f AS (SELECT key, min(line) AS first_line FROM keys GROUP BY key HAVING count(*) > 1) "
                "SELECT k.line, f.first_line FROM keys k JOIN f ON k.key = f.key "
                "WHERE k.line > f.first_line ORDER BY k.line",
                params={"files": str(keys_dir / "*.parquet")},
            ).to_arrow_table()
        finally:
            con.close()
        shutil.rmtree(keys_dir, ignore_errors=True)
        return (
            found.column("line").to_numpy().astype(np.int64),
            found.column("first_line").to_numpy().astype(np.int64),
        )

    def _check(
        self,
        src: SourceTable,
        dups: tuple[np.ndarray, np.ndarray] | None,
        out: TableOutcome,
        staged: pq.ParquetWriter | None,
    ) -> None:
        checked = check_table(self.spec, src, self.month, self.known, self.set_aside, dups)
        bad = checked.bad
        good = checked.loaded()
        for ref, column in self.own_refs:
            self.loaded_ids[ref].append(good.column(column).combine_chunks())
            self.aside_ids[ref].append(
                checked.typed.column(column).filter(pa.array(bad)).drop_null().combine_chunks()
            )
        self.sink.add(quarantine_rows(src, checked))
        out.pieces += 1
        out.read += src.read
        out.loaded += good.num_rows
        out.quarantined += int(bad.sum()) + len(src.bad_records)
        out.knock_on += int(checked.knock_on_only.sum())
        out.reasons.update(reason_counts(src, checked))
        if out.pieces == 1:
            out.ignored_columns = checked.extra_columns
        schema = arrow_schema(self.spec.name)
        if staged is None:
            # One piece: sorted in memory, exactly as a table read at once.
            self.writer.write(
                self.spec.name, good.sort_by([(k, "ascending") for k in self.spec.key]).cast(schema)
            )
        else:
            lines = pa.array(src.lines[~bad], pa.int64())
            staged.write_table(good.cast(schema).append_column(LINE, lines))

    def _write_sorted(self, staging: Path) -> None:
        """Sort the staged rows by key with DuckDB and write them as the month's table."""
        schema = arrow_schema(self.spec.name)
        order = ", ".join(f'"{k}" ASC NULLS LAST' for k in self.spec.key)
        cols = ", ".join(f'"{f.name}"' for f in schema)
        target = self.writer.directory / f"{self.spec.name}.parquet"
        tmp = target.with_suffix(".parquet.tmp")
        con = self._duckdb()
        rows = 0
        try:
            reader = con.sql(
                f"SELECT {cols} FROM read_parquet($file) ORDER BY {order}, {LINE}",
                params={"file": str(staging)},
            ).to_arrow_reader(SORT_BATCH)
            with pq.ParquetWriter(tmp, schema, compression="zstd", write_statistics=True) as out:
                pending: list[pa.RecordBatch] = []
                size = 0
                for batch in reader:
                    pending.append(batch)
                    size += batch.num_rows
                    while size >= ROW_GROUP:
                        table = pa.Table.from_batches(pending)
                        out.write_table(
                            table.slice(0, ROW_GROUP).cast(schema).combine_chunks(),
                            row_group_size=ROW_GROUP,
                        )
                        rest = table.slice(ROW_GROUP)
                        pending, size = rest.to_batches(), rest.num_rows
                        rows += ROW_GROUP
                if size or rows == 0:
                    table = pa.Table.from_batches(pending) if pending else schema.empty_table()
                    out.write_table(table.cast(schema).combine_chunks(), row_group_size=ROW_GROUP)
                    rows += size
        finally:
            con.close()
        tmp.replace(target)
        self.writer.written[self.spec.name] = rows
        staging.unlink()

    def _finish(self, out: TableOutcome, quarantine_file: Path) -> None:
        n = self.sink.finish(quarantine_file)
        assert n == out.quarantined, (n, out.quarantined)
        out.quarantine_file = str(quarantine_file) if n else None
        for ref, _ in self.own_refs:
            out.known[ref] = _concat(self.loaded_ids[ref])
            out.set_aside[ref] = _concat(self.aside_ids[ref])

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        spill = self.work / "duckdb"
        spill.mkdir(exist_ok=True)
        con.execute(f"SET memory_limit = '{self.limits.memory_limit}'")
        con.execute(f"SET threads = {int(self.limits.threads)}")
        con.execute(f"SET temp_directory = '{_sql_text(str(spill))}'")
        con.execute("SET preserve_insertion_order = false")
        return con


def _drain(head: list[SourceTable], rest: Iterator[SourceTable]) -> Iterator[SourceTable]:
    while head:
        yield head.pop(0)
    yield from rest


def _concat(arrays: list[pa.Array]) -> pa.Array:
    return pa.concat_arrays(arrays) if len(arrays) > 1 else arrays[0]


def _sql_text(value: str) -> str:
    return value.replace("'", "''")
