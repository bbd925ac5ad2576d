"""Realistic defects injected into a fraction of rows, each one recorded.

A defect is what an operator's extract really contains: impossible dates,
dates in the wrong month, negative minutes, ids that point nowhere,
duplicated rows, GBK text read as Latin-1, broken phone numbers, values
outside their range or list. The loader must set every one of them aside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tenure.domain.model import TABLES, ColumnType, month_add

TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("name",),
    "plans": ("name",),
    "enterprise_groups": ("name",),
    "group_members": ("title",),
}
"""Columns that carry Chinese text, where mojibake can appear."""


@dataclass(frozen=True)
class Defect:
    row: int  # position in the returned table
    column: str  # empty for a whole-row defect
    kind: str
    value: str


def mojibake(text: str) -> str:
    """``text`` encoded as GBK and decoded as Latin-1, as a wrongly configured extract does.

    >>> mojibake("张伟")
    'ÕÅÎ°'
    """
    return text.encode("gbk", errors="replace").decode("latin-1")


def _candidates(table: str) -> list[tuple[str, str]]:
    """(kind, column) pairs that make sense for ``table``."""
    spec = TABLES[table]
    out: list[tuple[str, str]] = [("duplicate_row", "")]
    for c in spec.columns:
        if c.type in (ColumnType.DATE, ColumnType.TIMESTAMP) and c.required:
            out.append(("bad_date", c.name))
        if c.name == spec.month_column:
            out.append(("wrong_month", c.name))
        if c.type in (ColumnType.INT, ColumnType.MONEY, ColumnType.FLOAT):
            if c.minimum is not None and c.minimum >= 0:
                out.append(("negative_value", c.name))
            if c.maximum is not None:
                out.append(("out_of_range", c.name))
        if c.allowed and c.required:
            out.append(("not_allowed", c.name))
        if c.references:
            out.append(("unknown_reference", c.name))
        if c.pattern is not None and c.name == "msisdn":
            out.append(("bad_msisdn", c.name))
    for col in TEXT_COLUMNS.get(table, ()):
        out.append(("mojibake", col))
    return out


def _bad_value(kind: str, col: str, table: str, old: object, month: str, rng: np.random.Generator) -> object:
    spec = TABLES[table]
    c = spec.column(col)
    if kind == "bad_date":
        day = "02-30" if rng.random() < 0.7 else "04-31"
        text = f"{month[:4]}-{day}"
        return text + " 10:15:00" if c.type == ColumnType.TIMESTAMP else text
    if kind == "wrong_month":
        other = month_add(month, -int(rng.integers(1, 4)))
        if c.type == ColumnType.MONTH:
            return other
        text = f"{other}-{int(rng.integers(1, 29)):02d}"
        return text + " 09:30:00" if c.type == ColumnType.TIMESTAMP else text
    if kind == "negative_value":
        base = abs(float(old)) if old is not None and not np.isnan(float(old)) else 1.0
        v = -(base + 1.0)
        return int(v) if c.type == ColumnType.INT else round(v, 2)
    if kind == "out_of_range":
        v = float(c.maximum) * 10 + 1  # type: ignore[arg-type]
        return int(v) if c.type == ColumnType.INT else v
    if kind == "not_allowed":
        return "unknown_" + col
    if kind == "unknown_reference":
        return "X" + "".join(str(d) for d in rng.integers(0, 10, 11))
    if kind == "bad_msisdn":
        digits = "".join(str(d) for d in rng.integers(0, 10, 10))
        return rng.choice(["2" + digits, "1" + digits[:6], "1" + digits[:9] + "x"])
    if kind == "mojibake":
        return mojibake(str(old) if old is not None else "张三")
    raise ValueError(kind)


def inject(table: str, data: pa.Table, rate: float, month: str,
           rng: np.random.Generator) -> tuple[pa.Table, list[Defect]]:
    """Damage about ``rate`` of the rows of ``data``; return the new table and what was done."""
    n = data.num_rows
    if rate <= 0 or n == 0:
        return data, []
    # Never more than the rate in one batch: a small table (a few dozen groups)
    # must not get a defect share far above RATE from a single unlucky row.
    k = int(n * min(rate, 0.5))
    if k == 0:
        return data, []
    cands = _candidates(table)
    pick = rng.integers(0, len(cands), k)
    rows = np.sort(rng.choice(n, size=k, replace=False))
    dup_rows = rows[[cands[p][0] == "duplicate_row" for p in pick]] if k else rows[:0]
    edits = [(int(r), cands[p]) for r, p in zip(rows, pick) if cands[p][0] != "duplicate_row"]
    # Value edits first, on original positions; then duplicates are inserted after their source.
    by_col: dict[str, list[tuple[int, str]]] = {}
    for r, (kind, col) in edits:
        by_col.setdefault(col, []).append((r, kind))
    columns = {name: data.column(name) for name in data.column_names}
    values: dict[tuple[int, str], object] = {}
    for col, items in by_col.items():
        arr = columns[col].to_numpy(zero_copy_only=False)
        arr = arr.astype(object) if arr.dtype != object else arr.copy()
        for r, kind in items:
            v = _bad_value(kind, col, table, arr[r], month, rng)
            arr[r] = v
            values[(r, col)] = v
        columns[col] = pa.array(arr, type=data.schema.field(col).type, from_pandas=True)
    out = pa.table(columns, schema=data.schema)
    order = np.arange(n)
    if len(dup_rows):
        order = np.sort(np.concatenate([order, dup_rows]), kind="stable")
        out = out.take(pa.array(order))
    # Position of each original row in the new table: rows shift by the duplicates before them.
    shift = np.searchsorted(dup_rows, np.arange(n), side="left")
    defects = [Defect(int(r + shift[r]), col, kind, str(values[(r, col)])) for r, (kind, col) in edits]
    defects += [Defect(int(r + shift[r] + 1), "", "duplicate_row", "") for r in dup_rows]
    defects.sort(key=lambda d: d.row)
    return out, defects
