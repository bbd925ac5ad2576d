"""Mainland China working-day calendar: statutory holidays and make-up working weekends.

Provisioning SLAs are counted in working days, and a working day in mainland
China is not simply Monday to Friday: the State Council announces every year
which days are public holidays and which weekend days become working days to
make up for bridged holidays (调休). Those announcements are encoded by the
maintained ``chinese-calendar`` package.

That package is a data library (tables of dates, no I/O, no clock), so using it
keeps the domain pure; its import stays in this module, behind
:class:`HolidaySource`, so another source (a table maintained by the operator,
another country) can be swapped in without touching the SLA rules.

The operator can add days on top of the library: extra holidays (a local
holiday, a typhoon closure) and extra working days. Operator days win over the
library. A date outside the years the library covers raises
:class:`~tenure.domain.errors.InputError` unless the operator listed it.

Example::

    >>> from datetime import date
    >>> cal = WorkingCalendar()
    >>> cal.add_working_days(date(2024, 9, 30), 1)  # National Day week is off
    datetime.date(2024, 10, 8)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from tenure.domain.errors import ConfigurationError, InputError


class HolidaySource(Protocol):
    """Where the statutory calendar comes from."""

    first_year: int
    last_year: int

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` is a working day; only called for years in range."""
        ...


class ChineseCalendarSource:
    """Statutory holidays and make-up working days from ``chinese-calendar``."""

    def __init__(self) -> None:
        # Imported here so the rest of the domain never depends on the package.
        import chinese_calendar

        self._lib = chinese_calendar
        self._holidays = frozenset(chinese_calendar.holidays)
        self._workdays = frozenset(chinese_calendar.workdays)
        # The library refuses years outside its holiday table; use the same bounds.
        self.first_year = min(d.year for d in self._holidays)
        self.last_year = max(d.year for d in self._holidays)

    def is_working_day(self, d: date) -> bool:
        # Same rule as chinese_calendar.is_workday, without its per-call range scan
        # (SLA arithmetic asks about thousands of days).
        return d in self._workdays or (d.weekday() <= 4 and d not in self._holidays)

    def holiday_name(self, d: date) -> str | None:
        """The statutory holiday ``d`` belongs to (English name), if any."""
        on_holiday, name = self._lib.get_holiday_detail(d)
        if on_holiday and name:
            return str(name)
        return None


_DEFAULT_SOURCE: ChineseCalendarSource | None = None


def default_source() -> ChineseCalendarSource:
    """The shared statutory source (built once; the tables are read-only)."""
    global _DEFAULT_SOURCE
    if _DEFAULT_SOURCE is None:
        _DEFAULT_SOURCE = ChineseCalendarSource()
    return _DEFAULT_SOURCE


def _as_date(value: Any, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None
    raise InputError(f"{what}: {value!r} is not a date (YYYY-MM-DD)")


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days of mainland China, with operator overrides.

    ``extra_holidays`` are days off even if the library says otherwise;
    ``extra_workdays`` are working days even if the library says otherwise.
    A day in both lists is a configuration error.
    """

    extra_holidays: frozenset[date]
    extra_workdays: frozenset[date]
    source: HolidaySource

    def __init__(
        self,
        extra_holidays: Iterable[date | str] = (),
        extra_workdays: Iterable[date | str] = (),
        source: HolidaySource | None = None,
    ) -> None:
        holidays = frozenset(_as_date(d, "extra holiday") for d in extra_holidays)
        workdays = frozenset(_as_date(d, "extra working day") for d in extra_workdays)
        both = sorted(holidays & workdays)
        if both:
            raise ConfigurationError(
                "calendar: these days are listed both as extra holidays and as extra working days: "
                + ", ".join(d.isoformat() for d in both)
            )
        object.__setattr__(self, "extra_holidays", holidays)
        object.__setattr__(self, "extra_workdays", workdays)
        object.__setattr__(self, "source", source if source is not None else default_source())

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any] | None, source: HolidaySource | None = None
    ) -> WorkingCalendar:
        """Build from configuration: ``{"extra_holidays": [...], "extra_workdays": [...]}``."""
        data = data or {}
        unknown = set(data) - {"extra_holidays", "extra_workdays"}
        if unknown:
            raise ConfigurationError(
                f"calendar: unknown keys {sorted(unknown)}; use extra_holidays, extra_workdays"
            )
        for key in ("extra_holidays", "extra_workdays"):
            if not isinstance(data.get(key) or [], list):
                raise ConfigurationError(f"calendar: {key} must be a list of dates")
        try:
            return cls(
                data.get("extra_holidays") or (), data.get("extra_workdays") or (), source=source
            )
        except InputError as exc:
            raise ConfigurationError(f"calendar: {exc}") from None

    @property
    def years(self) -> tuple[int, int]:
        """First and last year of the statutory source."""
        return (self.source.first_year, self.source.last_year)

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` is a working day (operator days first, then the statutory calendar)."""
        if isinstance(d, datetime):
            d = d.date()  # a datetime never equals the date keys of the tables
        if d in self.extra_holidays:
            return False
        if d in self.extra_workdays:
            return True
        if not (self.source.first_year <= d.year <= self.source.last_year):
            raise InputError(
                f"{d.isoformat()} is outside the working-day calendar, which covers "
                f"{self.source.first_year}-{self.source.last_year}; update chinese-calendar "
                "or list the days in config/calendar.yaml"
            )
        return self.source.is_working_day(d)

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself never counts).

        ``n`` = 0 returns ``start`` unchanged.
        """
        if n < 0:
            raise InputError(f"working days must be 0 or more, got {n}")
        d = start
        left = n
        while left > 0:
            d += timedelta(days=1)
            if self.is_working_day(d):
                left -= 1
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; 0 when ``b`` <= ``a``."""
        count = 0
        d = a
        while d < b:
            d += timedelta(days=1)
            if self.is_working_day(d):
                count += 1
        return count

    def working_days_in(self, first: date, last: date) -> list[date]:
        """All working days from ``first`` to ``last``, both included."""
        out = []
        d = first
        while d <= last:
            if self.is_working_day(d):
                out.append(d)
            d += timedelta(days=1)
        return out


def load_calendar(path: Path | None) -> WorkingCalendar:
    """The calendar with the operator's days from ``path`` (``calendar.yaml``), if the file exists.

    The file holds two lists of dates::

        extra_holidays: [2026-12-31]
        extra_workdays: [2026-12-26]
    """
    if path is None or not path.exists():
        return WorkingCalendar()
    import yaml  # only needed when there is a file to read

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    if data is not None and not isinstance(data, Mapping):
        raise ConfigurationError(f"{path} must be a mapping with extra_holidays and extra_workdays")
    try:
        return WorkingCalendar.from_mapping(data)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
