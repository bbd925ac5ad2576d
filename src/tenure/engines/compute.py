"""Analytics engines behind Ibis: DuckDB (default, embedded) and PySpark.

This is the only module that knows which engine runs; analytics code takes
and returns ``ibis.Table`` and never connects or executes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa

from tenure.config import Settings
from tenure.domain.errors import ConfigurationError


@dataclass
class Engine:
    """An Ibis backend plus the few operations that differ between engines."""

    name: str
    con: Any
    _counter: int = field(default=0)

    def read_parquet(self, paths: list[Path], name: str | None = None) -> ibis.Table:
        """Register Parquet files as one table."""
        if not paths:
            raise ValueError("read_parquet needs at least one file")
        self._counter += 1
        table_name = f"{name or 't'}_{self._counter}"
        files = [str(p) for p in paths]
        if self.name == "duckdb":
            return self.con.read_parquet(files, table_name=table_name)
        # PySpark reads a list of paths natively.
        return self.con.read_parquet(files, table_name=table_name)

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

    def close(self) -> None:
        try:
            self.con.disconnect()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def connect(settings: Settings, engine: str | None = None) -> Engine:
    """Open the engine named by ``engine`` or by the settings."""
    name = engine or settings.engine
    if name == "duckdb":
        con = ibis.duckdb.connect(
            threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit
        )
        return Engine("duckdb", con)
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
