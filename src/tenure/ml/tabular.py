"""Column detection and encoding for arbitrary one-row-per-customer tables.

A churn table exported from an operator's warehouse (or a public data set) has
numbers, numbers stored as text with blanks, yes/no flags, categories and
identifiers mixed together. :func:`detect_columns` decides what each column is
and reports every column it leaves out, with the reason, so nothing is dropped
silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tenure.domain.errors import InputError

# Values read as "the customer churned" when --positive is not given.
POSITIVE_TOKENS = ("yes", "true", "1", "1.0", "y", "t", "churn", "churned", "left")

# A text column with more distinct values than this share of the rows (and at
# least MIN_ID_DISTINCT values) is an identifier, not a category: a model that
# learns one weight per customer id only memorises the training rows.
ID_DISTINCT_SHARE = 0.5
MIN_ID_DISTINCT = 50
# Categories beyond this many (most frequent first) are pooled into "other";
# keeps one-hot widths and LightGBM category splits sane on messy inputs.
MAX_CATEGORIES = 100


@dataclass(frozen=True)
class IgnoredColumn:
    column: str
    reason: str


@dataclass(frozen=True)
class ColumnPlan:
    """What each column of a churn table is used for."""

    label: str
    positive: str
    id_column: str | None
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    ignored: tuple[IgnoredColumn, ...] = ()
    coerced: tuple[str, ...] = field(default=())

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "positive": self.positive,
            "id": self.id_column,
            "numeric": list(self.numeric),
            "categorical": list(self.categorical),
            "coerced_to_numeric": list(self.coerced),
            "ignored": [{"column": c.column, "reason": c.reason} for c in self.ignored],
        }


def _blank_to_nan(s: pd.Series) -> pd.Series:
    text = s.astype("string").str.strip()
    return text.mask(text == "", pd.NA)


def _as_numbers(s: pd.Series) -> pd.Series | None:
    """``s`` as floats if every non-blank value is a number, else None."""
    text = _blank_to_nan(s)
    present = text.dropna()
    if present.empty:
        return None
    parsed = pd.to_numeric(present, errors="coerce")
    if parsed.isna().any():
        return None
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _label_text(s: pd.Series) -> pd.Series:
    return _blank_to_nan(s).str.lower()


def resolve_positive(label: pd.Series, positive: str | None) -> str:
    """The label value (lower-case text) that means churn.

    ``positive`` is matched case-insensitively; without it a two-valued label
    whose values include yes/true/1/churn is accepted.
    """
    values = sorted(set(_label_text(label).dropna()))
    if len(values) < 2:
        raise InputError(f"label column {label.name!r} has {len(values)} distinct value(s); need two")
    if positive is not None:
        wanted = str(positive).strip().lower()
        if wanted not in values:
            # 1 and 1.0 are the same label when pandas read the column as floats
            try:
                as_num = {float(v): v for v in values}
                if float(wanted) in as_num:
                    return as_num[float(wanted)]
            except ValueError:
                pass
            raise InputError(
                f"positive value {positive!r} not found in label {label.name!r}; values: {values[:10]}"
            )
        return wanted
    if len(values) != 2:
        raise InputError(
            f"label {label.name!r} has {len(values)} values {values[:10]}; pass --positive"
        )
    hits = [v for v in values if v in POSITIVE_TOKENS]
    if len(hits) != 1:
        raise InputError(f"cannot tell which of {values} means churn in {label.name!r}; pass --positive")
    return hits[0]


def encode_label(label: pd.Series, positive: str) -> np.ndarray:
    """1 where ``label`` equals ``positive`` (case-insensitive), else 0; blanks must be removed first."""
    text = _label_text(label)
    if text.isna().any():
        raise InputError(f"label {label.name!r} has blank values")
    try:
        num = float(positive)
        as_num = pd.to_numeric(text, errors="coerce")
        if as_num.notna().all():
            return (as_num == num).to_numpy(dtype=np.int64)
    except ValueError:
        pass
    return (text == positive).to_numpy(dtype=np.int64)


def detect_columns(
    frame: pd.DataFrame,
    label: str,
    *,
    id_column: str | None = None,
    positive: str | None = None,
    drop: Iterable[str] = (),
) -> ColumnPlan:
    """Decide which columns are numeric features, categorical features or ignored.

    - numbers stored as text (blanks allowed) are coerced and listed in ``coerced``;
    - booleans and text with few distinct values are categorical;
    - text with many distinct values (ids, names, phone numbers), constant and
      empty columns, the id column and ``drop`` columns are ignored with a reason.

    >>> df = pd.DataFrame({"id": [f"c{i}" for i in range(60)], "x": [" "] + ["1.5"] * 59,
    ...                    "plan": ["a", "b"] * 30, "churn": ["Yes", "No"] * 30})
    >>> plan = detect_columns(df, "churn", id_column="id")
    >>> plan.numeric, plan.categorical, plan.coerced
    (('x',), ('plan',), ('x',))
    """
    if label not in frame.columns:
        raise InputError(f"label column {label!r} not in the table; columns: {list(frame.columns)[:30]}")
    if id_column is not None and id_column not in frame.columns:
        raise InputError(f"id column {id_column!r} not in the table")
    dropped = set(drop)
    missing = dropped - set(frame.columns)
    if missing:
        raise InputError(f"columns to drop not in the table: {sorted(missing)}")
    pos = resolve_positive(frame[label], positive)
    n = len(frame)
    numeric: list[str] = []
    categorical: list[str] = []
    coerced: list[str] = []
    ignored: list[IgnoredColumn] = []
    for col in frame.columns:
        if col == label:
            continue
        s = frame[col]
        if col == id_column:
            ignored.append(IgnoredColumn(col, "id column"))
            continue
        if col in dropped:
            ignored.append(IgnoredColumn(col, "dropped on request"))
            continue
        if s.isna().all() or (s.dtype == object and _blank_to_nan(s).isna().all()):
            ignored.append(IgnoredColumn(col, "empty"))
            continue
        if s.nunique(dropna=True) <= 1:
            ignored.append(IgnoredColumn(col, "constant"))
            continue
        if pd.api.types.is_bool_dtype(s):
            categorical.append(col)
            continue
        if pd.api.types.is_numeric_dtype(s):
            distinct = s.nunique(dropna=True)
            integral = bool(np.all(np.mod(s.dropna().to_numpy(dtype=float), 1) == 0))
            if integral and distinct == n and n >= MIN_ID_DISTINCT:
                ignored.append(IgnoredColumn(col, f"row identifier ({distinct} distinct integers)"))
            else:
                numeric.append(col)
            continue
        as_num = _as_numbers(s)
        if as_num is not None:
            numeric.append(col)
            coerced.append(col)
            continue
        distinct = _blank_to_nan(s).nunique(dropna=True)
        if distinct >= MIN_ID_DISTINCT and distinct > ID_DISTINCT_SHARE * n:
            ignored.append(IgnoredColumn(col, f"identifier-like text ({distinct} distinct of {n} rows)"))
            continue
        categorical.append(col)
    if not numeric and not categorical:
        raise InputError("no usable feature columns in the table")
    return ColumnPlan(
        label=label,
        positive=pos,
        id_column=id_column,
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        ignored=tuple(ignored),
        coerced=tuple(coerced),
    )


def feature_frame(frame: pd.DataFrame, plan: ColumnPlan) -> pd.DataFrame:
    """The feature columns of ``frame``: numerics as float64, categoricals as text with NaN for blanks.

    Category codes are not fixed here: estimators learn their category lists on
    the rows they are fitted on (see :class:`CategoryEncoder`).
    """
    out: dict[str, pd.Series] = {}
    for col in plan.numeric:
        s = frame[col]
        if pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype("float64")
        else:
            out[col] = pd.to_numeric(_blank_to_nan(s), errors="coerce").astype("float64")
    for col in plan.categorical:
        text = _blank_to_nan(frame[col])
        out[col] = text.astype(object).where(text.notna(), np.nan)
    return pd.DataFrame(out, index=frame.index)


def load_table(
    frame: pd.DataFrame,
    label: str,
    *,
    id_column: str | None = None,
    positive: str | None = None,
    drop: Sequence[str] = (),
) -> tuple[pd.DataFrame, np.ndarray, ColumnPlan, int]:
    """Features, 0/1 label, column plan and the number of rows left out for a blank label."""
    plan = detect_columns(frame, label, id_column=id_column, positive=positive, drop=drop)
    blank = _label_text(frame[label]).isna().to_numpy()
    kept = frame.loc[~blank]
    y = encode_label(kept[label], plan.positive)
    return feature_frame(kept, plan).reset_index(drop=True), y, plan, int(blank.sum())


class CategoryEncoder:
    """Maps text columns to pandas categoricals with categories learned at fit time.

    Unknown and blank values become missing, which LightGBM sends down its own
    branch. Categories beyond ``max_categories`` (rarest first) are pooled.
    """

    def __init__(self, max_categories: int = MAX_CATEGORIES) -> None:
        self.max_categories = max_categories

    def fit(self, X: pd.DataFrame) -> CategoryEncoder:
        self.categories_: dict[str, list[str]] = {}
        for col in X.columns:
            s = X[col]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                continue
            counts = s.dropna().astype(str).value_counts(sort=True)
            # ties broken by name so the category order does not depend on row order
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            keep = [k for k, _ in ordered[: self.max_categories]]
            if len(ordered) > self.max_categories:
                keep.append("other")
            self.categories_[col] = sorted(keep)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X.copy()
        for col, cats in self.categories_.items():
            out[col] = self._categorical(X[col], cats)
        return out

    @staticmethod
    def _categorical(s: pd.Series, cats: list[str]) -> pd.Categorical:
        text = s.astype(str).where(s.notna(), None)
        if "other" in cats:
            text = text.where(text.isna() | text.isin(cats), "other")
        return pd.Categorical(text, categories=cats)

    def codes(self, column: str, values: pd.Series | pa.Array | pa.ChunkedArray) -> np.ndarray:
        """Category codes of one column as LightGBM reads them: float64, missing and unknown as NaN.

        Equal to the codes of :meth:`transform`'s categorical column. Arrow
        strings and booleans are matched in Arrow (no Python string per row);
        other Arrow types go through pandas.

        >>> enc = CategoryEncoder().fit(pd.DataFrame({"plan": ["a", "b", "b"]}))
        >>> enc.codes("plan", pa.array(["b", None, "z", "a"])).tolist()
        [1.0, nan, nan, 0.0]
        """
        cats = self.categories_[column]
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                return self._arrow_text_codes(values, cats)
            if pa.types.is_boolean(values.type):
                return self._arrow_bool_codes(values, cats)
            values = values.to_pandas()
        codes = self._categorical(values, cats).codes.astype(np.float64)
        codes[codes < 0] = np.nan
        return codes

    @staticmethod
    def _arrow_text_codes(values: pa.Array | pa.ChunkedArray, cats: list[str]) -> np.ndarray:
        found = pc.index_in(values, value_set=pa.array(cats, values.type))
        if "other" in cats:
            # present but unknown pools into "other", as in transform
            unknown = pc.and_(pc.is_valid(values), pc.is_null(found))
            found = pc.if_else(unknown, cats.index("other"), found)
        return np.asarray(pc.fill_null(pc.cast(found, pa.float64()), np.nan))

    @staticmethod
    def _arrow_bool_codes(values: pa.Array | pa.ChunkedArray, cats: list[str]) -> np.ndarray:
        def code(text: str) -> float:
            if text in cats:
                return float(cats.index(text))
            return float(cats.index("other")) if "other" in cats else np.nan

        flags = pc.fill_null(pc.cast(values, pa.int8()), -1).to_numpy()
        return np.select([flags == 1, flags == 0], [code("True"), code("False")], np.nan)
