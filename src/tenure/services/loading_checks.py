"""Vectorised row checks of one source table against the canonical model.

Every check turns whole columns into a boolean mask of failing rows with
``pyarrow.compute`` and numpy; nothing loops over rows in Python. A row with
any failing check is quarantined with every reason that applies; the others
are typed to the canonical Arrow schema and loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.domain import validation as v
from tenure.domain.errors import LoadError
from tenure.domain.model import ColumnType, TableSpec
from tenure.engines.schema import arrow_schema
from tenure.engines.sources import SourceTable

T = ColumnType
MONTH_KIND = {T.DATE: "date", T.TIMESTAMP: "timestamp", T.MONTH: "month"}


@dataclass
class Problem:
    """Rows failing one check. ``label`` groups reasons in the summary.

    The per-row reason is ``prefix + value + suffix`` when ``value`` is given,
    else the label itself.
    """

    column: str
    label: str
    mask: np.ndarray
    value: pa.Array | None = None
    prefix: str = ""
    suffix: str = ""
    # True when the row is fine itself but points at a row set aside in another table.
    knock_on: bool = False

    def reasons(self, rows: np.ndarray) -> pa.Array:
        if self.value is None:
            return pa.array([self.label] * len(rows), pa.string())
        taken = pc.cast(self.value.take(pa.array(rows)), pa.string()).fill_null("")
        return pc.binary_join_element_wise(self.prefix, taken, self.suffix, "")


@dataclass
class CheckedTable:
    """Outcome of checking one table: typed rows and what was wrong with which."""

    typed: pa.Table  # every row, canonical schema, unparseable values null
    problems: list[Problem] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)

    @property
    def bad(self) -> np.ndarray:
        mask = np.zeros(self.typed.num_rows, dtype=bool)
        for p in self.problems:
            mask |= p.mask
        return mask

    @property
    def knock_on_only(self) -> np.ndarray:
        """Rows set aside only because a row they reference was set aside."""
        own = np.zeros(self.typed.num_rows, dtype=bool)
        knock = np.zeros(self.typed.num_rows, dtype=bool)
        for p in self.problems:
            if p.knock_on:
                knock |= p.mask
            else:
                own |= p.mask
        return knock & ~own

    def loaded(self) -> pa.Table:
        return self.typed.filter(pa.array(~self.bad))


def _np(a: Any) -> np.ndarray:
    """Boolean Arrow array -> numpy, nulls counting as False."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return np.asarray(a.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _match(text: pa.Array, pattern: str) -> np.ndarray:
    return _np(pc.match_substring_regex(text, pattern))


def _garbled(text: pa.Array) -> np.ndarray:
    """Mojibake mask; plain ASCII (ids, codes) cannot be garbled, so only the rest is searched."""
    other = ~_np(pc.string_is_ascii(text))
    out = np.zeros(len(text), dtype=bool)
    if other.any():
        rows = np.flatnonzero(other)
        out[rows] = _match(text.take(pa.array(rows)), v.MOJIBAKE_PATTERN)
    return out


def check_table(
    spec: TableSpec,
    src: SourceTable,
    month: str,
    known: dict[str, pa.Array],
    set_aside: dict[str, pa.Array] | None = None,
    duplicates: tuple[np.ndarray, np.ndarray] | None = None,
) -> CheckedTable:
    """Type and check every row of ``src`` as table ``spec`` loaded for ``month``.

    ``known`` maps ``"table.column"`` to the values loaded this month, for
    references; ``set_aside`` to the values of rows quarantined this month.
    ``duplicates``, when ``src`` is one piece of a larger file, gives the
    duplicate keys of the whole file: the lines of later occurrences (sorted)
    and the line of each one's first occurrence (see :func:`key_text`);
    without it, duplicates are found within ``src``.
    Raises LoadError when required columns are missing.
    """
    missing = [c for c in spec.required_columns if c not in src.columns]
    if missing:
        raise LoadError(
            f"{src.path}: missing required column(s) {', '.join(missing)} for table {spec.name}; "
            "add them to the header (columns are listed in docs/data-model.md)"
        )
    schema = arrow_schema(spec)
    problems: list[Problem] = []
    texts: dict[str, pa.Array] = {}
    values: dict[str, pa.Array] = {}
    ok: dict[str, np.ndarray] = {}

    for col in spec.columns:
        text = _text(src, col.name)
        present = _np(pc.is_valid(text))
        texts[col.name] = text
        if col.required:
            problems.append(Problem(col.name, f"{col.name}: required value missing", ~present))
        value, parsed = _parse(col.type, text)
        good = present & parsed
        bad_format = present & ~parsed
        if bad_format.any():
            label = v.FORMAT_NAMES[col.type]
            problems.append(
                Problem(
                    col.name,
                    f"{col.name}: {label}",
                    bad_format,
                    text,
                    f"{col.name} {label}: '",
                    "'",
                )
            )
        if col.type is T.STRING:
            garbled = present & _garbled(text)
            if garbled.any():
                problems.append(
                    Problem(
                        col.name,
                        f"{col.name}: garbled text (wrong character encoding upstream)",
                        garbled,
                        text,
                        f"{col.name} looks garbled (mojibake, wrong encoding upstream): '",
                        "'",
                    )
                )
        if bad_format.any():
            # Unparsed values become null; elsewhere a missing text already is.
            value = pc.if_else(pa.array(good), value, pa.scalar(None, value.type))
        values[col.name] = value
        ok[col.name] = good
        problems.extend(_value_rules(col, text, value, good))

    if spec.month_column:
        problems.extend(_month_rule(spec, texts, ok, month))
    problems.extend(_cross_rules(spec, texts, values, ok))
    problems.extend(_reference_rules(spec, values, ok, known, set_aside or {}))
    dup = _duplicate_rule(spec, texts, src.lines, duplicates)
    if dup is not None:
        problems.append(dup)

    typed = pa.table(
        [values[c.name].cast(schema.field(c.name).type) for c in spec.columns],
        schema=_nullable(schema),
    )
    problems = [p for p in problems if p.mask.any()]
    extra = [c for c in src.columns if c not in spec.column_names]
    return CheckedTable(typed, problems, extra)


def _text(src: SourceTable, name: str) -> pa.Array:
    """A column's values trimmed, an empty value null (all null when the column is absent)."""
    if name not in src.columns:
        return pa.nulls(src.data.num_rows, pa.string())
    raw = src.data.column(name).combine_chunks()
    text = pc.utf8_trim_whitespace(raw)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def key_text(spec: TableSpec, src: SourceTable) -> tuple[pa.Array, np.ndarray]:
    """Each row's key as one text (parts joined by U+001F) and a mask of complete keys.

    Exactly what the duplicate-key check compares, for finding duplicates
    across the pieces of a file.
    """
    parts = [_text(src, k) for k in spec.key]
    complete = np.ones(src.data.num_rows, dtype=bool)
    for p in parts:
        complete &= _np(pc.is_valid(p))
    key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    return key, complete


def _nullable(schema: pa.Schema) -> pa.Schema:
    # Rows that fail are still in ``typed`` (with nulls) until filtered out.
    return pa.schema([f.with_nullable(True) for f in schema])


def _parse(kind: ColumnType, text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Parse text to the column's type; returns values and a mask of parsed rows."""
    if kind is T.STRING:
        return text, np.ones(len(text), dtype=bool)
    if kind is T.MONTH:
        return text, _match(text, v.MONTH_FORMAT)
    if kind is T.BOOL:
        low = pc.utf8_lower(text)
        yes = _np(pc.is_in(low, pa.array(v.TRUE_TOKENS)))
        no = _np(pc.is_in(low, pa.array(v.FALSE_TOKENS)))
        return pa.array(yes, mask=~(yes | no)), yes | no
    if kind in (T.INT, T.MONEY, T.FLOAT):
        number, fmt = _to_number(text)
        parsed = fmt & _np(pc.is_finite(number))
        if kind is T.INT:
            whole = pc.and_(
                pc.equal(number, pc.trunc(number)), pc.less_equal(pc.abs(number), 2.0**53)
            )
            parsed &= _np(whole)
            number = pc.if_else(pa.array(parsed), number, pa.scalar(None, pa.float64()))
            return pc.cast(number, pa.int64()), parsed
        if kind is T.MONEY:
            number = pc.round(number, 2)
        return number, parsed
    # strptime is lenient (2026-02-30 rolls over to March, single-digit months
    # pass); requiring the value to print back identically makes it exact.
    if kind is T.DATE:
        # Spreadsheets and Parquet timestamps write dates as midnight timestamps.
        day = pc.replace_substring_regex(text, r"^(\d{4}-\d{2}-\d{2})[ T]00:00(:00)?$", r"\1")
        ts = pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True)
        same = _np(pc.equal(pc.strftime(ts, format="%Y-%m-%d"), day))
        return pc.cast(ts, pa.date32()), same
    if kind is T.TIMESTAMP:
        norm = pc.replace_substring(text, "T", " ")
        norm = pc.if_else(
            pc.equal(pc.utf8_length(norm), 16), pc.binary_join_element_wise(norm, ":00", ""), norm
        )
        ts = pc.strptime(norm, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
        same = _np(pc.equal(pc.strftime(ts, format="%Y-%m-%d %H:%M:%S"), norm))
        return ts, same
    raise AssertionError(kind)


def _to_number(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Text -> float64 and a mask of well-formed numbers.

    A clean column (the usual case) casts in one go; only a column with a bad
    value pays for the regular expression that finds which ones.
    """
    present = _np(pc.is_valid(text))
    try:
        number = pc.cast(text, pa.float64())
        # The cast also takes spellings the model does not ("nan", "inf", hex floats).
        if not _np(pc.is_finite(number))[present].all():
            raise pa.ArrowInvalid("non-finite")
        return number, present
    except pa.ArrowInvalid:
        fmt = _match(text, v.NUMBER_FORMAT)
        masked = pc.if_else(pa.array(fmt), text, pa.scalar(None, pa.string()))
        return pc.cast(masked, pa.float64()), fmt


def _value_rules(col: Any, text: pa.Array, value: pa.Array, good: np.ndarray) -> list[Problem]:
    out: list[Problem] = []
    if col.allowed:
        allowed = ", ".join(col.allowed)
        bad = good & ~_np(pc.is_in(value, pa.array(col.allowed, pa.string())))
        out.append(
            Problem(
                col.name,
                f"{col.name}: not one of {allowed}",
                bad,
                text,
                f"{col.name} '",
                f"' is not one of {allowed}",
            )
        )
    if col.minimum is not None:
        bad = good & _np(pc.less(value, col.minimum))
        out.append(
            Problem(
                col.name,
                f"{col.name}: below minimum {col.minimum:g}",
                bad,
                text,
                f"{col.name} ",
                f" is below the minimum {col.minimum:g}",
            )
        )
    if col.maximum is not None:
        bad = good & _np(pc.greater(value, col.maximum))
        out.append(
            Problem(
                col.name,
                f"{col.name}: above maximum {col.maximum:g}",
                bad,
                text,
                f"{col.name} ",
                f" is above the maximum {col.maximum:g}",
            )
        )
    if col.pattern is not None:
        bad = good & ~_match(text, col.pattern)
        out.append(
            Problem(
                col.name,
                f"{col.name}: does not match {col.pattern}",
                bad,
                text,
                f"{col.name} '",
                f"' does not match {col.pattern}",
            )
        )
    return out


def _month_rule(
    spec: TableSpec, texts: dict[str, pa.Array], ok: dict[str, np.ndarray], month: str
) -> list[Problem]:
    name = spec.month_column
    assert name is not None
    kind = MONTH_KIND[spec.column(name).type]
    text = texts[name]
    bad = ok[name] & ~_np(pc.equal(pc.utf8_slice_codeunits(text, 0, 7), month))
    return [
        Problem(
            name,
            f"{name}: outside month {month}",
            bad,
            text,
            f"{kind} ",
            f" is outside month {month}",
        )
    ]


def _cross_rules(
    spec: TableSpec,
    texts: dict[str, pa.Array],
    values: dict[str, pa.Array],
    ok: dict[str, np.ndarray],
) -> list[Problem]:
    out: list[Problem] = []
    for rule in v.CROSS_RULES.get(spec.name, ()):
        if isinstance(rule, v.SetExactlyWhen):
            when_ok = ok[rule.when_column]
            is_when = when_ok & _np(pc.equal(values[rule.when_column], rule.value))
            is_not = when_ok & ~is_when
            for c in rule.columns:
                present = _np(pc.is_valid(texts[c]))
                out.append(
                    Problem(
                        c,
                        f"{c}: empty although {rule.when_column} is {rule.value}",
                        is_when & ~present,
                    )
                )
                out.append(
                    Problem(
                        c,
                        f"{c}: set although {rule.when_column} is not {rule.value}",
                        is_not & present,
                        texts[rule.when_column],
                        f"{c} is set although {rule.when_column} is '",
                        "'",
                    )
                )
        elif isinstance(rule, v.NotBefore):
            both = ok[rule.later] & ok[rule.earlier]
            bad = both & _np(pc.less(values[rule.later], values[rule.earlier]))
            out.append(
                Problem(
                    rule.later,
                    f"{rule.later}: before {rule.earlier}",
                    bad,
                    texts[rule.earlier],
                    f"{rule.later} is before {rule.earlier} ",
                    "",
                )
            )
        elif isinstance(rule, v.SumAtMost):
            every = ok[rule.total].copy()
            total = pa.array(np.zeros(len(every)))
            for part in rule.parts:
                every &= ok[part]
                total = pc.add(total, values[part].fill_null(0.0))
            limit = pc.add(values[rule.total], rule.tolerance)
            bad = every & _np(pc.greater(total, limit))
            label = f"{' + '.join(rule.parts)} exceeds {rule.total}"
            out.append(Problem(rule.parts[0], label, bad, texts[rule.total], f"{label} ", ""))
    return out


def _reference_rules(
    spec: TableSpec,
    values: dict[str, pa.Array],
    ok: dict[str, np.ndarray],
    known: dict[str, pa.Array],
    set_aside: dict[str, pa.Array],
) -> list[Problem]:
    out: list[Problem] = []
    for col in spec.columns:
        if col.references is None or col.references not in known:
            continue
        target = col.references.split(".")[0]
        missing = ok[col.name] & ~_np(pc.is_in(values[col.name], known[col.references]))
        # Telling "quarantined over there" from "never heard of" points the operator at the cause.
        aside = np.zeros_like(missing)
        if col.references in set_aside and missing.any():
            aside = missing & _np(pc.is_in(values[col.name], set_aside[col.references]))
        name, value = col.name, values[col.name]
        out.append(
            Problem(
                name,
                f"{name}: not in this month's {target}",
                missing & ~aside,
                value,
                f"{name} ",
                f" is not in this month's {target}",
            )
        )
        out.append(
            Problem(
                name,
                f"{name}: its {target} row was quarantined",
                aside,
                value,
                f"{name} ",
                f" was quarantined in this month's {target}",
                knock_on=True,
            )
        )
    return out


def _duplicate_rule(
    spec: TableSpec,
    texts: dict[str, pa.Array],
    lines: np.ndarray,
    duplicates: tuple[np.ndarray, np.ndarray] | None = None,
) -> Problem | None:
    if duplicates is not None:
        return _known_duplicates(spec, lines, *duplicates)
    parts = [texts[k] for k in spec.key]
    complete = np.ones(len(parts[0]), dtype=bool)
    for p in parts:
        complete &= _np(pc.is_valid(p))
    key = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "\x1f")
    codes = pc.dictionary_encode(key).indices.to_numpy(zero_copy_only=False)
    codes = np.where(complete, np.nan_to_num(codes, nan=-1), -1).astype(np.int64)
    valid_rows = np.flatnonzero(complete)
    if len(valid_rows) == 0:
        return None
    _, first_pos = np.unique(codes[valid_rows], return_index=True)
    first_row_of_code = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    first_row_of_code[codes[valid_rows[first_pos]]] = valid_rows[first_pos]
    first = np.where(complete, first_row_of_code[np.maximum(codes, 0)], -1)
    dup = complete & (first != np.arange(len(codes)))
    if not dup.any():
        return None
    first_line = pa.array(np.where(dup, lines[np.maximum(first, 0)], 0)).cast(pa.string())
    return Problem(
        ",".join(spec.key),
        "duplicate key",
        dup,
        first_line,
        "duplicate key, first seen at line ",
        "",
    )


def _known_duplicates(
    spec: TableSpec, lines: np.ndarray, dup_lines: np.ndarray, first_lines: np.ndarray
) -> Problem | None:
    """The duplicate-key problem of one piece, from the duplicates found in the whole file."""
    if len(dup_lines) == 0 or len(lines) == 0:
        return None
    at = np.minimum(np.searchsorted(dup_lines, lines), len(dup_lines) - 1)
    dup = dup_lines[at] == lines
    if not dup.any():
        return None
    first_line = pa.array(np.where(dup, first_lines[at], 0)).cast(pa.string())
    return Problem(
        ",".join(spec.key),
        "duplicate key",
        dup,
        first_line,
        "duplicate key, first seen at line ",
        "",
    )
