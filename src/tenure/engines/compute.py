"""Analytics engines behind Ibis: DuckDB (default, embedded) and PySpark.

This is the only module that knows which engine runs; analytics code takes
and returns ``ibis.Table`` and never connects or executes.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from tenure.config import Settings
from tenure.domain.errors import ConfigurationError

WRITE_QUEUE = 4
"""Record batches that may wait between the engine and the Parquet writer thread."""
COPY_ROW_GROUP = 65_536
"""Rows per row group of files the engine writes sorted: the granularity at which a bucket skips the rest."""
PARQUET_CODECS = frozenset({"zstd", "snappy", "lz4", "gzip", "uncompressed"})
"""The codecs :meth:`Engine.copy_parquet` accepts: the only words that reach its ``COPY`` statement."""
KEPT_CODEC = "zstd"
"""Compression of the Parquet files the engine writes to keep: the smallest files for their cost."""
SCRATCH_CODEC = "snappy"
"""Compression of :meth:`Engine.stage`'s scratch files, read back once and deleted.

Cheaper to read than zstd: the features step reads the month's laid-out
attributes on the single thread of its line-up, which at 10M took 54.2-54.8 s
against 55.5-58.0 s with zstd, the layout itself 0.5-1 s less, for a
227 MB scratch file instead of 106 MB (docs/performance.md)."""


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding in a Parquet file: the strings.

    Trying a dictionary on every numeric column of a wide table (the
    ~200-column features) is most of the write's CPU and rarely pays: on the
    1M-subscriber features, strings only wrote 5.8 CPU-s against 7.9 for
    every column, for a file 4 % larger (docs/performance.md).
    """
    return [f.name for f in schema if _is_text(f.type)]


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def statistics_columns(schema: pa.Schema) -> list[str]:
    """Columns whose row-group statistics (min, max, nulls) are worth writing: strings and dates.

    Readers look rows up by these (a subscriber, a segment, a day). The
    rows of the cycle's outputs are in subscriber-number order, so a filter
    on one of the ~150 numeric columns of a wide table could skip no row
    group by its statistics anyway; leaving them out saves about a tenth of writing the
    1M-subscriber features (4.0-4.2 against 4.5-4.8 CPU-s;
    docs/performance.md). Filters on any column still give the same rows.
    """
    return [f.name for f in schema if _is_text(f.type) or pa.types.is_temporal(f.type)]


@dataclass
class Engine:
    """An Ibis backend plus the few operations that differ between engines."""

    name: str
    con: Any
    _counter: int = field(default=0)
    _materialised: set[str] = field(default_factory=set)
    _staged_dirs: dict[str, Path] = field(default_factory=dict)
    _last_compiled: tuple[ibis.Table, str] | None = None
    _scratch_dir: str | None = None
    spill_dir: Path | None = None
    """Where DuckDB spills past its memory limit (created by DuckDB when it first spills, removed on close)."""

    def read_parquet(self, paths: list[Path], name: str | None = None) -> ibis.Table:
        """Register Parquet files as one table."""
        if not paths:
            raise ValueError("read_parquet needs at least one file")
        self._counter += 1
        table_name = f"{name or 't'}_{self._counter}"
        files = [str(p) for p in paths]
        if self.name == "duckdb":
            return self.con.read_parquet(files, table_name=table_name)
        # Ibis' PySpark read_parquet takes one path; Spark itself reads several.
        self.con._session.read.parquet(*files).createOrReplaceTempView(table_name)
        return self.con.table(table_name)

    def from_arrow(self, data: pa.Table, name: str) -> ibis.Table:
        """Make an in-memory Arrow table available to the engine."""
        self._counter += 1
        table_name = f"{name}_{self._counter}"
        if self.name == "duckdb":
            return self.con.create_table(table_name, data, temp=True)
        return self.con.create_table(table_name, data.to_pandas(), temp=True)

    def to_arrow(self, expr: ibis.Table) -> pa.Table:
        """Execute an expression and return the result as Arrow."""
        return self.con.to_pyarrow(expr)

    def write_parquet(self, exprs: Iterable[ibis.Table], path: Path, chunk_size: int = 100_000) -> int:
        """Execute ``exprs`` one after the other and stream their rows into one Parquet file.

        Results are fetched in record batches so a large table never sits in
        memory whole; the expressions must share one schema (e.g. one per
        subscriber bucket). A second thread encodes and writes while the
        engine computes the next batches (at most ``WRITE_QUEUE`` batches
        wait between them). Returns the number of rows written.
        """
        import pyarrow.parquet as pq

        path = Path(path)
        tmp = path.with_suffix(".parquet.tmp")
        batches: queue.Queue[Any] = queue.Queue(maxsize=WRITE_QUEUE)
        failure: list[BaseException] = []

        def write() -> None:
            writer = None
            try:
                while (table := batches.get()) is not None:
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema, compression=KEPT_CODEC,
                                                  use_dictionary=dictionary_columns(table.schema),
                                                  write_statistics=statistics_columns(table.schema))
                    writer.write_table(table)
            except Exception as exc:  # noqa: BLE001 - re-raised by the producing thread
                failure.append(exc)
                while batches.get() is not None:  # keep the producer from blocking
                    pass
            finally:
                if writer is not None:
                    writer.close()

        writer_thread = threading.Thread(target=write, name="parquet-writer", daemon=True)
        writer_thread.start()
        rows = 0
        produced = False
        try:
            try:
                for expr in exprs:
                    if failure:  # the writer stopped: compute nothing more
                        break
                    schema = expr.schema().to_pyarrow()
                    produced = True
                    for batch in self._batches(expr, chunk_size):
                        if failure:
                            break
                        if batch.num_rows:
                            batches.put(pa.Table.from_batches([batch]).cast(schema))
                            rows += batch.num_rows
            finally:
                batches.put(None)
                writer_thread.join()
            if failure:
                raise failure[0]
            if not produced:
                raise ValueError("write_parquet needs at least one expression")
            if rows == 0:
                pq.ParquetWriter(tmp, schema).close()  # an empty file with the schema
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return rows

    def line_up(self, sides: list[ibis.Table], name: str) -> ibis.Table:
        """DuckDB: the ``sides`` side by side, row ``i`` of each with row ``i`` of the others.

        A ``POSITIONAL JOIN``: no hash table and no sort, one streaming pass.
        The sides must yield their rows in the same order of one key (tables
        laid out by subscriber number, :mod:`tenure.services.subscriber_index`)
        and their column names must differ; a shorter side is padded with
        nulls at the end. Only the engine's own compiled SQL goes into the view.
        """
        if self.name != "duckdb":
            raise NotImplementedError("line_up is DuckDB's; other engines join on the key")
        self._counter += 1
        view = f"{name}_{self._counter}"
        parts = " POSITIONAL JOIN ".join(f"({self.con.compile(s)}) AS _side{i}" for i, s in enumerate(sides))
        self.con.raw_sql(f'CREATE OR REPLACE TEMP VIEW "{view}" AS SELECT * FROM {parts}')
        return self.con.table(view)

    def stage(self, expr: ibis.Table, name: str) -> ibis.Table:
        """Compute ``expr`` once into a scratch Parquet file and read it back, rows in ``expr``'s order.

        DuckDB writes with its own ``COPY`` (sorts spill; memory does not
        grow with the table); Spark checkpoints. Free it with :meth:`drop_staged`.
        """
        if self.name != "duckdb":
            return self.checkpoint(expr, name)
        self._counter += 1
        directory = self._scratch() / f"{name}_{self._counter}"
        directory.mkdir()
        self.copy_parquet(expr, directory / "part.parquet", codec=SCRATCH_CODEC)
        table = self.read_parquet([directory / "part.parquet"], name)
        self._staged_dirs[table.op().name] = directory
        return table

    def _compiled(self, expr: ibis.Table) -> str:
        """The SQL of ``expr``; the last one is kept, as the same expression often runs again."""
        if self._last_compiled is None or self._last_compiled[0] is not expr:
            self._last_compiled = (expr, self.con.compile(expr))
        return self._last_compiled[1]

    def _batches(self, expr: ibis.Table, chunk_size: int) -> Any:
        if self.name == "duckdb":
            # DuckDB 2 renamed the streaming call Ibis 12 uses (fetch_record_batch ->
            # to_arrow_reader), so stream on the connection directly (a cursor
            # would not see the temporary views the tables are registered as).
            return self.con.con.sql(self._compiled(expr)).to_arrow_reader(chunk_size)
        # Spark collects through Arrow; the parity suite only runs small data.
        return self.con.to_pyarrow(expr).to_batches(max_chunksize=chunk_size)

    def checkpoint(self, expr: ibis.Table, name: str) -> ibis.Table:
        """A stage boundary inside a pipeline.

        DuckDB plans the whole pipeline at once and streams it, so nothing
        happens. Spark's optimiser slows down sharply on very wide, deeply
        nested plans, so the intermediate result is computed and its lineage
        cut (``localCheckpoint``).
        """
        if self.name == "duckdb":
            return expr
        self._counter += 1
        view = f"{name}_{self._counter}"
        df = self.con._session.sql(self.con.compile(expr)).localCheckpoint()
        df.createOrReplaceTempView(view)
        return self.con.table(view)

    def materialise(self, expr: ibis.Table, name: str) -> ibis.Table:
        """Compute ``expr`` once and return a table over the stored result.

        A stage boundary that *always* computes, for a result that several
        later queries read (Ibis inlines a shared expression into each query
        that uses it). Not worth it for one wide projection over a join:
        DuckDB already shares common sub-expressions within a query, and
        materialising the monthly history before the features measured
        slower. DuckDB keeps a temporary table (spilled to disk past the
        memory limit); Spark a local checkpoint. Free it with :meth:`drop`.
        """
        if self.name != "duckdb":
            return self.checkpoint(expr, name)
        self._counter += 1
        table_name = f"{name}_{self._counter}"
        self._materialised.add(table_name)
        return self.con.create_table(table_name, expr, temp=True)

    def drop(self, table: ibis.Table) -> None:
        """Free a table made by :meth:`materialise` (Spark frees checkpoints itself)."""
        op = table.op()
        if isinstance(op, ibis.expr.operations.DatabaseTable) and op.name in self._materialised:
            self._materialised.discard(op.name)
            self.con.drop_table(op.name, force=True)

    def drop_staged(self, parts: list[ibis.Table]) -> None:
        """Free the scratch files behind tables made by :meth:`stage`, if any."""
        for part in parts:
            for op in part.op().find(ibis.expr.operations.DatabaseTable):
                directory = self._staged_dirs.pop(op.name, None)
                if directory is None:
                    continue
                with contextlib.suppress(Exception):  # the view over the file
                    self.con.drop_view(op.name, force=True)
                shutil.rmtree(directory, ignore_errors=True)

    def _copy(self, expr: ibis.Table, target: Path, options: str, codec: str) -> None:
        """DuckDB's ``COPY`` of ``expr`` to Parquet compressed with ``codec`` at ``target``, with extra ``options``."""
        if codec not in PARQUET_CODECS:
            raise ValueError(f"unknown Parquet codec {codec!r}: use one of {', '.join(sorted(PARQUET_CODECS))}")
        quoted = str(target).replace("'", "''")
        self.con.raw_sql(
            f"COPY ({self.con.compile(expr)}) TO '{quoted}' (FORMAT parquet, COMPRESSION {codec}, {options})"
        )

    def _scratch(self) -> Path:
        """The engine's temporary directory for stage results (removed on :meth:`close`)."""
        if self._scratch_dir is None:
            self._scratch_dir = tempfile.mkdtemp(prefix="tenure-scratch-")
        return Path(self._scratch_dir)

    def copy_parquet(
        self, expr: ibis.Table, path: Path, order_by: str | None = None, codec: str = KEPT_CODEC
    ) -> int:
        """Execute ``expr`` into one Parquet file (optionally sorted, compressed with ``codec``); returns the rows written.

        DuckDB writes with its own parallel ``COPY`` (no rows pass through
        Python) and row groups small enough for readers to skip by the sort
        column's statistics; Spark goes through :meth:`write_parquet`.
        """
        if order_by is not None:
            expr = expr.order_by(order_by)
        if self.name != "duckdb":
            return self.write_parquet([expr], path)
        path = Path(path)
        tmp = path.with_suffix(".parquet.tmp")
        try:
            self._copy(expr, tmp, f"ROW_GROUP_SIZE {COPY_ROW_GROUP}", codec)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort
            self.con.disconnect()
        if self._scratch_dir is not None:
            shutil.rmtree(self._scratch_dir, ignore_errors=True)
            self._scratch_dir = None
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)


def connect(settings: Settings, engine: str | None = None) -> Engine:
    """Open the engine named by ``engine`` or by the settings."""
    name = engine or settings.engine
    if name == "duckdb":
        con = ibis.duckdb.connect(
            threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
        )
        # The monthly cycle left-joins one narrow table per month onto the
        # subscribers. With equal row counts DuckDB may flip build and probe
        # sides and hash the ever-wider left side at every join, which runs
        # out of memory; keep the month tables as build sides. Row order is
        # never relied upon, so results need not keep insertion order.
        con.raw_sql("SET disabled_optimizers = 'build_side_probe_side'")
        con.raw_sql("SET preserve_insertion_order = false")
        # Without background threads DuckDB's allocator (jemalloc) keeps the pages a
        # step freed: after the features of 1M subscribers the process held 1.2 GB
        # with nothing allocated, and scoring then built its own arrays on top
        # (the 1M cycle's peak: 2.7 GiB, 1.9 GiB with them).
        con.raw_sql("SET allocator_background_threads = true")
        # Spill files go to the system's temporary directory, one per connection, rather
        # than DuckDB's default `.tmp` in whatever directory the process started in.
        spill = Path(tempfile.gettempdir()) / f"tenure-spill-{os.getpid()}-{os.urandom(4).hex()}"
        con.raw_sql(f"SET temp_directory = '{str(spill).replace(chr(39), chr(39) * 2)}'")
        return Engine("duckdb", con, spill_dir=spill)
    if name == "spark":
        return Engine("spark", ibis.pyspark.connect(_spark_session(settings)))
    raise ConfigurationError(f"unknown engine {name!r}: use duckdb or spark")


def _spark_session(settings: Settings) -> Any:
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(settings.spark_master)
        .appName("tenure")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "false")
        .getOrCreate()
    )
