"""Builders for rule tests: history tables in the contract's shape."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import ibis
import pyarrow as pa

from tenure.domain import measures

HISTORY = range(measures.HISTORY_MONTHS)
ARROW_TYPES = {"number": pa.float64(), "string": pa.string(), "bool": pa.bool_(), "date": pa.date32()}


def contract_arrow(rows: Sequence[dict[str, Any]], scope: str = "subscriber") -> pa.Table:
    """A history table with every column of the contract; unspecified values are null.

    A row may give a measure as a list ``arpu=[m0, m1, ...]`` (shorter lists are
    padded with nulls) or column by column (``arpu_m2=...``).
    """
    if scope == "subscriber":
        key, monthly, attributes = "subscriber_id", measures.MONTHLY_MEASURES, measures.SUBSCRIBER_ATTRIBUTES
    else:
        key, monthly, attributes = "group_id", measures.GROUP_MEASURES, measures.GROUP_ATTRIBUTES
    columns: dict[str, list[Any]] = {key: []}
    types: dict[str, pa.DataType] = {key: pa.string()}
    for m in monthly:
        for k in HISTORY:
            columns[f"{m}_m{k}"] = []
            types[f"{m}_m{k}"] = pa.float64()
    for name, (t, _) in attributes.items():
        columns[name] = []
        types[name] = ARROW_TYPES[t]
    for row in rows:
        expanded = dict(row)
        for m in monthly:
            if isinstance(row.get(m), list):
                values = row[m] + [None] * (measures.HISTORY_MONTHS - len(row[m]))
                expanded.pop(m)
                for k in HISTORY:
                    expanded[f"{m}_m{k}"] = values[k]
        unknown = set(expanded) - set(columns)
        assert not unknown, f"not in the contract: {unknown}"
        for c, values in columns.items():
            values.append(expanded.get(c))
    return pa.table({c: pa.array(v, type=types[c]) for c, v in columns.items()})


def contract_table(rows: Sequence[dict[str, Any]], scope: str = "subscriber") -> ibis.Table:
    return ibis.memtable(contract_arrow(rows, scope))


MONTH_END = date(2026, 3, 31)
