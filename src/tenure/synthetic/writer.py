"""Incremental writers: one file per month and table, appended chunk by chunk."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tenure.domain.model import TABLES
from tenure.synthetic.tables import SCHEMAS

CSV_OPTIONS = {"quoting_style": "needed"}


class MonthFiles:
    """Appends tables to ``DIR/YYYY-MM/<table>.<fmt>`` and counts lines.

    Line numbers are physical lines of the CSV file with the header on line 1;
    for Parquet they are row numbers counted from 1, as the loader reports them.
    """

    def __init__(self, out: Path, fmt: str, encoding: str) -> None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"unknown format {fmt!r}")
        self.out, self.fmt = out, fmt
        self.codec = "gb18030" if encoding.lower() in ("gbk", "gb18030") else "utf-8"
        self.rows: dict[tuple[str, str], int] = {}
        self._pq: dict[tuple[str, str], pq.ParquetWriter] = {}

    def relpath(self, month: str, table: str) -> str:
        return f"{month}/{table}.{self.fmt}"

    def write(self, month: str, table: str, data: pa.Table) -> int:
        """Append ``data``; return the line number of its first row.

        A file is created with its first non-empty batch, so an optional table
        without rows (e.g. no circuits in a tiny run) has no file at all.
        """
        key = (month, table)
        if data.num_rows == 0:
            return self.rows.get(key, 0) + (2 if self.fmt == "csv" else 1)
        path = self.out / self.relpath(month, table)
        first = key not in self.rows
        if first:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.rows[key] = 0
        start_line = self.rows[key] + (2 if self.fmt == "csv" else 1)
        if self.fmt == "csv":
            buf = io.BytesIO()
            pacsv.write_csv(data, buf, pacsv.WriteOptions(include_header=first, **CSV_OPTIONS))
            raw = buf.getvalue()
            if self.codec != "utf-8":
                raw = raw.decode("utf-8").encode(self.codec)
            with open(path, "wb" if first else "ab") as fh:
                fh.write(raw)
        else:
            w = self._pq.get(key)
            if w is None:
                w = self._pq[key] = pq.ParquetWriter(path, SCHEMAS[table], compression="snappy")
            w.write_table(data)
        self.rows[key] += data.num_rows
        return start_line

    def close(self, months: tuple[str, ...] = ()) -> None:
        """Finish every file; required tables that never had a row get a header-only file."""
        for month in months:
            for name, spec in TABLES.items():
                if spec.required_file and (month, name) not in self.rows:
                    self._write_empty(month, name)
        for w in self._pq.values():
            w.close()
        self._pq.clear()

    def _write_empty(self, month: str, table: str) -> None:
        path = self.out / self.relpath(month, table)
        path.parent.mkdir(parents=True, exist_ok=True)
        empty = SCHEMAS[table].empty_table()
        if self.fmt == "csv":
            pacsv.write_csv(empty, path, pacsv.WriteOptions(include_header=True, **CSV_OPTIONS))
        else:
            pq.write_table(empty, path)
        self.rows[(month, table)] = 0
