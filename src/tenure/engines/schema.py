"""Canonical model -> Arrow schema: how each logical column type is stored in Parquet."""

from __future__ import annotations

import pyarrow as pa

from tenure.domain.model import TABLES, ColumnType, TableSpec

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.MONEY: pa.float64(),  # rounded to 0.01 on the way in
    ColumnType.FLOAT: pa.float64(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("s"),
    ColumnType.MONTH: pa.string(),
    ColumnType.BOOL: pa.bool_(),
}


def arrow_type(column_type: ColumnType) -> pa.DataType:
    """The Arrow type a column of ``column_type`` is stored as."""
    return ARROW_TYPES[column_type]


def arrow_schema(spec: TableSpec | str) -> pa.Schema:
    """The Arrow schema of a canonical table, columns in model order.

    Required columns are declared non-nullable, optional ones nullable.
    """
    if isinstance(spec, str):
        spec = TABLES[spec]
    return pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=not c.required) for c in spec.columns]
    )
