"""Load a month (or several) of operator files into the warehouse, validated.

Use case: ``load_directory(settings, DIR)`` reads ``DIR/YYYY-MM/<table>.csv``
(or ``.parquet``), checks every row against the canonical model, sets bad rows
aside in ``<home>/quarantine/<YYYY-MM>/<table>.csv`` with their line and reason,
and publishes each month atomically through the warehouse, but only when no
table has more than the tolerated share of bad rows. A refused month leaves
the warehouse exactly as it was.

Progress messages (``on_progress``) have the form ``"<month> <table>: <text>"``:
exactly two per table file (reading, then checked), and ``"<month>: <text>"``
once when the month is published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from tenure.config import Settings
from tenure.domain.errors import LoadError
from tenure.domain.model import MONTH_RE, TABLES, parse_month
from tenure.domain.validation import is_bad_share_refused
from tenure.engines.warehouse import Warehouse
from tenure.services.loading_chunks import SortLimits, TableOutcome, load_table
from tenure.services.loading_quarantine import most_frequent

SUFFIXES = (".csv", ".parquet")
TOP_REASONS = 5
# Columns other tables point at: their loaded values are kept for reference checks.
REFERENCED = sorted({c.references for t in TABLES.values() for c in t.columns if c.references})


@dataclass
class TableLoad:
    """What happened to one table file of a month."""

    table: str
    source_file: str
    format: str
    encoding: str | None
    read: int
    loaded: int
    quarantined: int
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    quarantine_file: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    # Quarantined only because the row they reference (e.g. their subscriber) was quarantined.
    knock_on: int = 0

    @property
    def bad_share(self) -> float:
        return self.quarantined / self.read if self.read else 0.0

    @property
    def own_bad_share(self) -> float:
        """Share of rows bad in this file itself: what the threshold judges.

        Rows set aside only because their parent row was set aside are still
        quarantined and counted, but they say nothing about this file's
        quality; counting them would refuse every child table of a parent
        that is itself within tolerance.
        """
        return (self.quarantined - self.knock_on) / self.read if self.read else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bad_share"] = round(self.bad_share, 6)
        d["own_bad_share"] = round(self.own_bad_share, 6)
        d["top_reasons"] = [{"reason": r, "count": c} for r, c in self.top_reasons]
        return d


@dataclass
class MonthLoad:
    """The load of one month: its tables, and whether it was published."""

    month: str
    folder: str
    tables: list[TableLoad] = field(default_factory=list)
    carried_over: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    published: bool = False
    version: str | None = None
    refused: str | None = None

    def table(self, name: str) -> TableLoad:
        for t in self.tables:
            if t.table == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "folder": self.folder,
            "published": self.published,
            "version": self.version,
            "refused": self.refused,
            "carried_over": self.carried_over,
            "ignored_files": self.ignored_files,
            "read": sum(t.read for t in self.tables),
            "loaded": sum(t.loaded for t in self.tables),
            "quarantined": sum(t.quarantined for t in self.tables),
            "tables": [t.to_dict() for t in self.tables],
        }


@dataclass
class LoadReport:
    """Per month and table: read = loaded + quarantined, top reasons, quarantine files."""

    source: str
    max_bad_share: float
    months: list[MonthLoad] = field(default_factory=list)
    ignored_folders: list[str] = field(default_factory=list)

    @property
    def refused(self) -> str | None:
        for m in self.months:
            if m.refused:
                return m.refused
        return None

    def month(self, month: str) -> MonthLoad:
        for m in self.months:
            if m.month == month:
                return m
        raise KeyError(month)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "max_bad_share": self.max_bad_share,
            "ok": self.refused is None,
            "refused": self.refused,
            "ignored_folders": self.ignored_folders,
            "months": [m.to_dict() for m in self.months],
        }


class LoadRefused(LoadError):
    """Too many bad rows in a table: the month was not published. Carries the report."""

    def __init__(self, message: str, report: LoadReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class MonthInput:
    """The files found for one month."""

    month: str
    folder: Path
    files: dict[str, Path]
    ignored: list[Path]


# -- discovery -------------------------------------------------------------------
def discover(source: Path, month: str | None = None) -> tuple[list[MonthInput], list[Path]]:
    """Months to load (in order) and folders ignored, from the layout of ``source``."""
    source = Path(source)
    if not source.is_dir():
        raise LoadError(
            f"{source}: not a folder; give the folder that holds the month folders (YYYY-MM)"
        )
    if month is not None:
        try:
            month = parse_month(month)
        except ValueError:
            raise LoadError(f"--month {month!r} is not a month; write it as YYYY-MM") from None
        folder = source / month
        if folder.is_dir():
            return [_month_input(month, folder)], []
        if _table_files(source):
            return [_month_input(month, source)], []
        raise LoadError(
            f"{source}: no folder {month} and no table files (<table>.csv or .parquet) in it; check the path"
        )
    months, ignored = [], []
    for d in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if MONTH_RE.match(d.name):
            months.append(_month_input(d.name, d))
        elif _table_files(d):
            raise LoadError(
                f"{d}: folder name {d.name!r} is not a month; rename it YYYY-MM (e.g. 2026-05) "
                f"or load it with --month YYYY-MM {d}"
            )
        else:
            ignored.append(d)
    if not months:
        hint = (
            " (table files found directly in it: add --month YYYY-MM)"
            if _table_files(source)
            else ""
        )
        raise LoadError(
            f"{source}: no month folders (YYYY-MM) found{hint}; put each month's files in a folder named after the month"
        )
    return months, ignored


def _table_files(folder: Path) -> list[Path]:
    return [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SUFFIXES and p.stem.lower() in TABLES
    ]


def _month_input(month: str, folder: Path) -> MonthInput:
    files: dict[str, Path] = {}
    ignored: list[Path] = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.is_dir():
            continue
        name = p.stem.lower()
        if p.suffix.lower() in SUFFIXES and name in TABLES:
            if name in files:
                raise LoadError(
                    f"{folder}: both {files[name].name} and {p.name} hold table {name}; keep one"
                )
            files[name] = p
        else:
            ignored.append(p)
    missing = [t for t, spec in TABLES.items() if spec.required_file and t not in files]
    if missing:
        raise LoadError(
            f"{folder}: month {month} lacks required table file(s) {', '.join(t + '.csv' for t in missing)}; "
            "add them (CSV or Parquet) and load again"
        )
    return MonthInput(month, folder, files, ignored)


# -- the use case ----------------------------------------------------------------
def load_directory(
    settings: Settings,
    source: Path,
    month: str | None = None,
    encoding: str | None = None,
    max_bad_share: float | None = None,
    on_progress: Callable[[str], None] | None = None,
    chunk_bytes: int | None = None,
) -> LoadReport:
    """Validate and load every month found under ``source`` (or just ``month``).

    Months are loaded in order, each published on its own: a refused month
    raises :class:`LoadRefused` (a LoadError) after the months before it were
    published. Whole-file problems raise LoadError before anything is written.
    Files larger than ``chunk_bytes`` (default ``settings.load_chunk_bytes``)
    are read and checked in pieces of about that size (see loading_chunks).
    """
    share = settings.max_bad_row_share if max_bad_share is None else float(max_bad_share)
    if not 0 <= share <= 1:
        raise LoadError(f"--max-bad-share {share} must be between 0 and 1")
    months, ignored = discover(Path(source), month)
    report = LoadReport(str(source), share, ignored_folders=[str(p) for p in ignored])
    warehouse = Warehouse(settings.warehouse_dir)
    say = on_progress or (lambda _msg: None)
    for mi in months:
        result = _load_month(settings, warehouse, mi, encoding, share, say, chunk_bytes)
        report.months.append(result)
        if result.refused:
            raise LoadRefused(result.refused, report)
    return report


class _Refused(Exception):
    """Raised inside the month writer to drop the staged version of a refused month."""


def _load_month(
    settings: Settings,
    warehouse: Warehouse,
    mi: MonthInput,
    encoding: str | None,
    share: float,
    say: Callable[[str], None],
    chunk_bytes: int | None = None,
) -> MonthLoad:
    """Check each table and stage it in the month's new version as soon as it is checked.

    Only one piece of one table is in memory at a time (plus the id columns
    other tables refer to), so a month's peak memory follows the piece size
    (``Settings.load_chunk_bytes``), not the size of its files. A refused month's staged version is dropped whole:
    the warehouse stays exactly as it was.
    """
    result = MonthLoad(mi.month, str(mi.folder), ignored_files=[str(p) for p in mi.ignored])
    quarantine_dir = settings.home / "quarantine" / mi.month
    known: dict[str, pa.Array] = {}
    set_aside: dict[str, pa.Array] = {}
    previous = warehouse.version(mi.month)
    chunk_bytes = settings.load_chunk_bytes if chunk_bytes is None else chunk_bytes
    limits = SortLimits(
        memory_limit=f"{max(256, 4 * chunk_bytes >> 20)}MB", threads=settings.duckdb_threads
    )
    try:
        # The warehouse adds "version" and "tables" (row counts) itself; the summary goes beside them.
        meta: dict[str, Any] = {"kind": "load", "max_bad_share": share}
        with warehouse.write_month(mi.month, "input", meta=meta) as writer:
            for name, spec in TABLES.items():
                path = mi.files.get(name)
                if path is None:
                    continue
                say(f"{mi.month} {name}: reading {path.name}")
                out = load_table(
                    spec,
                    path,
                    mi.month,
                    encoding,
                    known,
                    set_aside,
                    REFERENCED,
                    writer,
                    quarantine_dir / f"{name}.csv",
                    chunk_bytes,
                    settings.home,
                    limits,
                )
                known.update(out.known)
                set_aside.update(out.set_aside)
                entry = _entry(name, out)
                result.tables.append(entry)
                say(f"{mi.month} {name}: {entry.loaded:,} loaded, {entry.quarantined:,} quarantined")
            if previous is not None:
                result.carried_over = [t for t in TABLES if t not in writer.written and warehouse.has(t, mi.month)]
            refused = [
                t for t in result.tables if is_bad_share_refused(t.quarantined - t.knock_on, t.read, share)
            ]
            if refused:
                result.refused = _refusal_message(mi.month, refused, share)
                raise _Refused
            meta["summary"] = {
                k: v for k, v in result.to_dict().items() if k not in ("published", "version", "refused")
            }
    except _Refused:
        return result
    result.published = True
    result.version = warehouse.version(mi.month)
    say(f"{mi.month}: published {len(result.tables)} tables")
    return result


def _entry(name: str, out: TableOutcome) -> TableLoad:
    return TableLoad(
        table=name,
        source_file=out.source_file,
        format=out.format,
        encoding=out.encoding,
        read=out.read,
        loaded=out.loaded,
        quarantined=out.quarantined,
        top_reasons=most_frequent(out.reasons, TOP_REASONS),
        quarantine_file=out.quarantine_file,
        ignored_columns=out.ignored_columns,
        knock_on=out.knock_on,
    )


def _refusal_message(month: str, refused: list[TableLoad], share: float) -> str:
    parts = []
    refused = sorted(refused, key=lambda t: -t.own_bad_share)
    for t in refused[:3]:
        reasons = "; ".join(f"{r} ({c:,})" for r, c in t.top_reasons[:2])
        parts.append(
            f"{t.table}: {t.quarantined - t.knock_on:,} of {t.read:,} rows bad "
            f"({t.own_bad_share:.2%} > {share:.2%}); "
            f"top reasons: {reasons}; quarantine: {t.quarantine_file}"
        )
    if len(refused) > 3:
        parts.append(f"and {len(refused) - 3} more table(s)")
    return (
        f"load of {month} refused, the warehouse keeps its previous {month}. "
        + " | ".join(parts)
        + ". Fix the rows listed in the quarantine and load again, or raise --max-bad-share"
    )
