"""The local warehouse: Parquet files per table and month, replaced atomically.

Layout under ``<home>/warehouse``::

    <area>/<YYYY-MM>/CURRENT              text file naming the live version
    <area>/<YYYY-MM>/<version>/<table>.parquet

``area`` is ``input`` for loaded tables, ``output`` for what the monthly
cycle produces (features, warnings, profiles, ...) and ``history`` for each
month's reduced measures, which the cycle computes once and keeps
(``services/month_history``). A load or run writes a
complete new version directory, then swaps ``CURRENT`` with ``os.replace``,
which is atomic on POSIX file systems: readers see the old month or the new
month, never half of each, and a failure before the swap leaves the old month
as it was. Old versions are removed after the swap.

Version names are content-independent but ordered (a timestamp plus a counter),
so two writers never collide.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tenure.domain.errors import NotFound
from tenure.domain.model import parse_month

AREAS = ("input", "output", "history")


@dataclass
class MonthWriter:
    """Collects the tables of one month version before it is published."""

    directory: Path
    written: dict[str, int]

    def write(self, table: str, data: pa.Table) -> Path:
        """Write one table of the month (replacing it within this version)."""
        path = self.directory / f"{table}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        # Stable output for identical input: no per-write metadata, fixed row groups.
        pq.write_table(data, tmp, compression="zstd", row_group_size=1_000_000, write_statistics=True)
        os.replace(tmp, path)
        self.written[table] = data.num_rows
        return path

    def copy_from(self, table: str, source: Path) -> None:
        """Carry a table over unchanged from the previous version of the month."""
        shutil.copy2(source, self.directory / f"{table}.parquet")
        self.written[table] = pq.ParquetFile(source).metadata.num_rows


class Warehouse:
    """Partitioned Parquet store with atomic per-month versions."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- reading -------------------------------------------------------------
    def months(self, area: str = "input", table: str | None = None) -> list[str]:
        """Months that have a live version (optionally: that contain ``table``)."""
        base = self._area(area)
        if not base.exists():
            return []
        out = []
        for d in sorted(base.iterdir()):
            if not (d / "CURRENT").exists():
                continue
            if table is None or self._live_dir(area, d.name).joinpath(f"{table}.parquet").exists():
                out.append(d.name)
        return out

    def path(self, table: str, month: str, area: str = "input") -> Path:
        """Path of the live Parquet file of ``table`` for ``month``; NotFound if absent."""
        p = self._live_dir(area, parse_month(month)) / f"{table}.parquet"
        if not p.exists():
            raise NotFound(f"no {table} for {month} in the warehouse ({area}); load or run that month first")
        return p

    def has(self, table: str, month: str, area: str = "input") -> bool:
        try:
            self.path(table, month, area)
        except NotFound:
            return False
        return True

    def paths(self, table: str, months: list[str], area: str = "input") -> list[Path]:
        """Live files of ``table`` for the given months that exist (missing months skipped)."""
        return [self.path(table, m, area) for m in months if self.has(table, m, area)]

    def read_arrow(self, table: str, month: str, area: str = "input", columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(self.path(table, month, area), columns=columns)

    def version(self, month: str, area: str = "input") -> str | None:
        cur = self._area(area) / parse_month(month) / "CURRENT"
        return cur.read_text().strip() if cur.exists() else None

    def metadata(self, month: str, area: str = "input") -> dict:
        """The JSON metadata recorded with the live version (load or run summary)."""
        d = self._live_dir(area, month)
        meta = d / "_meta.json"
        return json.loads(meta.read_text()) if meta.exists() else {}

    # -- writing -------------------------------------------------------------
    @contextmanager
    def write_month(self, month: str, area: str = "input", meta: dict | None = None) -> Iterator[MonthWriter]:
        """Write a new version of a month; publish it only if the block succeeds.

        Tables of the previous version that the block does not write are carried
        over, so a load of some tables of a month keeps the others.
        """
        month = parse_month(month)
        month_dir = self._area(area) / month
        month_dir.mkdir(parents=True, exist_ok=True)
        version = time.strftime("v%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        staging = month_dir / f".{version}.staging"
        staging.mkdir()
        writer = MonthWriter(staging, {})
        try:
            yield writer
            previous = self._live_dir_or_none(area, month)
            if previous is not None:
                for f in previous.glob("*.parquet"):
                    name = f.stem
                    if name not in writer.written:
                        writer.copy_from(name, f)
            (staging / "_meta.json").write_text(
                json.dumps({**(meta or {}), "version": version, "tables": writer.written}, indent=2, default=str)
            )
            final = month_dir / version
            os.replace(staging, final)
            pointer_tmp = month_dir / f".CURRENT.{version}"
            pointer_tmp.write_text(version + "\n")
            os.replace(pointer_tmp, month_dir / "CURRENT")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._collect_garbage(month_dir, keep=version)

    def drop_month(self, month: str, area: str = "input") -> None:
        shutil.rmtree(self._area(area) / parse_month(month), ignore_errors=True)

    # -- internals -----------------------------------------------------------
    def _area(self, area: str) -> Path:
        if area not in AREAS:
            raise ValueError(f"unknown warehouse area {area!r}")
        return self.root / area

    def _live_dir_or_none(self, area: str, month: str) -> Path | None:
        cur = self._area(area) / month / "CURRENT"
        if not cur.exists():
            return None
        return self._area(area) / month / cur.read_text().strip()

    def _live_dir(self, area: str, month: str) -> Path:
        d = self._live_dir_or_none(area, month)
        if d is None:
            raise NotFound(f"month {month} is not in the warehouse ({area})")
        return d

    @staticmethod
    def _collect_garbage(month_dir: Path, keep: str) -> None:
        for d in month_dir.iterdir():
            if d.is_dir() and d.name != keep and not d.name.endswith(".staging"):
                shutil.rmtree(d, ignore_errors=True)
