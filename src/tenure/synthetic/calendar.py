"""Month arithmetic on day numbers (days since 1970-01-01), vectorised."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tenure.domain.model import month_add, parse_month


def month_number(month: str) -> int:
    """Months since 1970-01 of a ``YYYY-MM`` key."""
    return (int(month[:4]) - 1970) * 12 + int(month[5:7]) - 1


def first_day(month_no: np.ndarray | int) -> np.ndarray:
    """Day number of the first day of each month number."""
    return np.asarray(month_no, dtype="int64").astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def month_of_day(day: np.ndarray) -> np.ndarray:
    """Month number of each day number."""
    return np.asarray(day, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype("int64")


def day_strings(day: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` of each day number."""
    return np.datetime_as_string(np.asarray(day, dtype="int64").astype("datetime64[D]"), unit="D")


def second_strings(sec: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS`` of each second number."""
    s = np.datetime_as_string(np.asarray(sec, dtype="int64").astype("datetime64[s]"), unit="s")
    if len(s) == 0:
        return s
    return np.char.replace(s, "T", " ")


def day_text(day: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Arrow ``YYYY-MM-DD`` text of day numbers; empty where ``missing``."""
    days = np.asarray(day, dtype="int64").astype("datetime64[D]")
    return pa.array(days, mask=missing).cast(pa.string())


def second_text(sec: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """Arrow ``YYYY-MM-DD HH:MM:SS`` text of second numbers; empty where ``missing``."""
    secs = np.asarray(sec, dtype="int64").astype("datetime64[s]")
    return pa.array(secs, mask=missing).cast(pa.string())


@dataclass(frozen=True)
class Window:
    """The months being generated: index 0 is the oldest, ``n - 1`` the last."""

    months: tuple[str, ...]

    @classmethod
    def ending(cls, end: str, n: int) -> Window:
        parse_month(end)
        return cls(tuple(month_add(end, k - n + 1) for k in range(n)))

    @property
    def n(self) -> int:
        return len(self.months)

    @property
    def base(self) -> int:
        """Month number of index 0."""
        return month_number(self.months[0])

    def start(self, t: np.ndarray | int) -> np.ndarray:
        """First day number of window month ``t`` (may be outside the window)."""
        return first_day(self.base + np.asarray(t))

    def days(self, t: np.ndarray | int) -> np.ndarray:
        """Number of days of window month ``t``."""
        return self.start(np.asarray(t) + 1) - self.start(t)

    def index_of(self, day: np.ndarray) -> np.ndarray:
        """Window month index of each day number (negative before the window)."""
        return month_of_day(day) - self.base


def zfill(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded text of integers (numpy's zfill fails on empty arrays)."""
    values = np.asarray(values)
    if len(values) == 0:
        return np.empty(0, dtype=f"<U{width}")
    return np.char.zfill(values.astype(str), width)
