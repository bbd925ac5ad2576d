"""What a loaded row must satisfy beyond its column types: the loader's rule book.

The canonical model (:mod:`tenure.domain.model`) says which columns exist, their
types, allowed values, ranges, patterns, keys and references. This module adds
the value formats the loader accepts and the rules that span several columns,
as plain data, so the vectorised checker in ``services`` and the documentation
describe the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenure.domain.model import ColumnType

# Accepted text forms, as RE2/Python regular expressions over the trimmed value.
NUMBER_FORMAT = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
DATE_FORMAT = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP_FORMAT = r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$"
MONTH_FORMAT = r"^\d{4}-(0[1-9]|1[0-2])$"

TRUE_TOKENS: tuple[str, ...] = ("true", "1", "y", "yes")
FALSE_TOKENS: tuple[str, ...] = ("false", "0", "n", "no")
"""Booleans, compared case-insensitively."""

FORMAT_NAMES: dict[ColumnType, str] = {
    ColumnType.INT: "not a whole number",
    ColumnType.MONEY: "not an amount",
    ColumnType.FLOAT: "not a number",
    ColumnType.DATE: "not a date (YYYY-MM-DD)",
    ColumnType.TIMESTAMP: "not a timestamp (YYYY-MM-DD HH:MM[:SS])",
    ColumnType.MONTH: "not a month (YYYY-MM)",
    ColumnType.BOOL: "not a boolean (true/false, 1/0, Y/N)",
}
"""Reason given when a value does not parse as its column type."""

MOJIBAKE_PATTERN = r"\x{fffd}|[\x{80}-\x{9f}]|[\x{a0}-\x{ff}]{2,}|锟斤拷|烫烫烫|屯屯屯"
"""Text damaged by a wrong decoding somewhere upstream.

* U+FFFD is the replacement character a decoder leaves for bytes it could not read;
* C1 control characters (U+0080..U+009F) and runs of two or more Latin-1
  letters (``ÕÅÈý`` for 张三) are what GBK or UTF-8 bytes become when read as
  Latin-1 / Windows-1252; a genuine single accented letter (``Zoë``) passes;
* ``锟斤拷`` is U+FFFD written as UTF-8 and read back as GBK, ``烫烫烫``/``屯屯屯``
  uninitialised memory printed as GBK.

Written in RE2 syntax (``\\x{..}``), which is what ``pyarrow.compute`` uses.
"""

MONEY_TOLERANCE = 0.01


@dataclass(frozen=True)
class SetExactlyWhen:
    """``columns`` are non-empty exactly when ``when_column`` equals ``value``."""

    columns: tuple[str, ...]
    when_column: str
    value: str

    def describe(self) -> str:
        return (
            f"{' and '.join(self.columns)} are set exactly when {self.when_column} is {self.value}"
        )


@dataclass(frozen=True)
class NotBefore:
    """``later`` is on or after ``earlier`` when both are present."""

    later: str
    earlier: str

    def describe(self) -> str:
        return f"{self.later} is on or after {self.earlier}"


@dataclass(frozen=True)
class SumAtMost:
    """``sum(parts) <= total + tolerance`` when all are present."""

    parts: tuple[str, ...]
    total: str
    tolerance: float = MONEY_TOLERANCE

    def describe(self) -> str:
        return f"{' + '.join(self.parts)} is at most {self.total} (+{self.tolerance})"


CrossRule = SetExactlyWhen | NotBefore | SumAtMost

CROSS_RULES: dict[str, tuple[CrossRule, ...]] = {
    "subscribers": (SetExactlyWhen(("churn_date", "churn_type"), "status", "churned"),),
    "agreements": (NotBefore("end_date", "start_date"),),
    "monthly_usage": (SumAtMost(("mou_onnet", "mou_offnet"), "mou"),),
}
"""Rules spanning several columns of one row, by table.

>>> CROSS_RULES["agreements"][0].describe()
'end_date is on or after start_date'
"""


def is_bad_share_refused(bad: int, read: int, max_share: float) -> bool:
    """True when ``bad`` rows out of ``read`` is more than the tolerated share.

    >>> is_bad_share_refused(1, 100, 0.01), is_bad_share_refused(2, 100, 0.01)
    (False, True)
    """
    return read > 0 and bad / read > max_share
