"""Working-day calendar: statutory holidays, make-up working weekends, operator days.

The dates below are the State Council announcements (国务院办公厅关于部分节假日
安排的通知) that chinese-calendar encodes; each was checked against the library
and the announcement text:

* 2024 Spring Festival: off 10-17 Feb; work Sun 4 Feb and Sun 18 Feb.
* 2024 National Day: off 1-7 Oct; work Sun 29 Sep and Sat 12 Oct.
* 2025 Spring Festival: off 28 Jan-4 Feb; work Sun 26 Jan and Sat 8 Feb.
* 2025 National Day + Mid-autumn: off 1-8 Oct; work Sun 28 Sep and Sat 11 Oct.
* 2026 Spring Festival: off 15-23 Feb; work Sat 14 Feb and Sat 28 Feb.
* 2026 National Day: off 1-7 Oct; work Sun 20 Sep and Sat 10 Oct.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.calendar import WorkingCalendar, load_calendar
from tenure.domain.errors import ConfigurationError, InputError

D = date

# (day, working?) — the holiday blocks and their make-up weekends.
KNOWN_DAYS = [
    # 2024 Spring Festival
    (D(2024, 2, 4), True),  # Sunday, make-up
    (D(2024, 2, 9), True),  # Friday, New Year's Eve is a working day in 2024
    (D(2024, 2, 10), False),
    (D(2024, 2, 14), False),  # Wednesday inside the holiday
    (D(2024, 2, 17), False),
    (D(2024, 2, 18), True),  # Sunday, make-up
    (D(2024, 2, 19), True),
    # 2024 National Day
    (D(2024, 9, 28), False),  # plain Saturday
    (D(2024, 9, 29), True),  # Sunday, make-up
    (D(2024, 10, 1), False),
    (D(2024, 10, 7), False),  # Monday inside the holiday
    (D(2024, 10, 12), True),  # Saturday, make-up
    (D(2024, 10, 13), False),
    # 2025 Spring Festival
    (D(2025, 1, 26), True),  # Sunday, make-up
    (D(2025, 1, 28), False),
    (D(2025, 2, 4), False),  # Tuesday, last holiday
    (D(2025, 2, 5), True),
    (D(2025, 2, 8), True),  # Saturday, make-up
    (D(2025, 2, 9), False),
    # 2025 National Day and Mid-autumn
    (D(2025, 9, 28), True),  # Sunday, make-up
    (D(2025, 10, 6), False),  # Mid-autumn inside the block
    (D(2025, 10, 8), False),  # Wednesday, last holiday
    (D(2025, 10, 9), True),
    (D(2025, 10, 11), True),  # Saturday, make-up
    # 2026 Spring Festival
    (D(2026, 2, 14), True),  # Saturday, make-up
    (D(2026, 2, 15), False),
    (D(2026, 2, 23), False),  # Monday, last holiday
    (D(2026, 2, 24), True),
    (D(2026, 2, 28), True),  # Saturday, make-up
    (D(2026, 3, 1), False),
    # 2026 National Day
    (D(2026, 9, 20), True),  # Sunday, make-up
    (D(2026, 9, 25), False),  # Mid-autumn, Friday
    (D(2026, 10, 7), False),
    (D(2026, 10, 8), True),
    (D(2026, 10, 10), True),  # Saturday, make-up
    (D(2026, 10, 11), False),
]


@pytest.mark.parametrize(("day", "working"), KNOWN_DAYS, ids=[d.isoformat() for d, _ in KNOWN_DAYS])
def test_statutory_days(cal: WorkingCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


# (start, n, expected N-th working day after start) — arithmetic by hand:
ADD_CASES = [
    # Fri 2 Feb 2024: Sat 3 off, Sun 4 make-up -> 1st.
    (D(2024, 2, 2), 1, D(2024, 2, 4)),
    # Thu 8 Feb 2024: Fri 9 (1); 10-17 off; Sun 18 make-up (2).
    (D(2024, 2, 8), 2, D(2024, 2, 18)),
    # Fri 27 Sep 2024: Sun 29 (1), Mon 30 (2), 1-7 Oct off, 8 (3), 9 (4), 10 (5).
    (D(2024, 9, 27), 5, D(2024, 10, 10)),
    # Mon 30 Sep 2024: the whole National Day week is off -> Tue 8 Oct.
    (D(2024, 9, 30), 1, D(2024, 10, 8)),
    # Mon 27 Jan 2025: 28 Jan-4 Feb off -> Wed 5 Feb.
    (D(2025, 1, 27), 1, D(2025, 2, 5)),
    # Mon 20 Jan 2025: 21,22,23,24 (4), Sun 26 make-up (5), 27 (6), off to 4 Feb,
    # 5,6,7 (9), Sat 8 make-up (10), 10,11,12 (13).
    (D(2025, 1, 20), 13, D(2025, 2, 12)),
    # Fri 26 Sep 2025: Sun 28 (1), 29 (2), 30 (3), 1-8 Oct off, 9 (4), 10 (5),
    # Sat 11 (6), 13-17 (11), 20-24 (16), 27,28,29,30 (20).
    (D(2025, 9, 26), 20, D(2025, 10, 30)),
    # Thu 12 Feb 2026: Fri 13 (1), Sat 14 make-up (2), 15-23 off, 24 (3), 25 (4), 26 (5).
    (D(2026, 2, 12), 5, D(2026, 2, 26)),
    # Fri 18 Sep 2026: Sun 20 make-up (1), 21-24 (5), Fri 25 Mid-autumn off, 28,29,30 (8).
    (D(2026, 9, 18), 8, D(2026, 9, 30)),
    # Wed 30 Sep 2026: 1-7 Oct off -> Thu 8 Oct.
    (D(2026, 9, 30), 1, D(2026, 10, 8)),
    # n = 0 is the start itself, even on a holiday.
    (D(2026, 10, 1), 0, D(2026, 10, 1)),
]


@pytest.mark.parametrize(("start", "n", "expected"), ADD_CASES)
def test_add_working_days(cal: WorkingCalendar, start: date, n: int, expected: date) -> None:
    assert cal.add_working_days(start, n) == expected
    assert cal.working_days_between(start, expected) == n


BETWEEN_CASES = [
    # After Mon 30 Sep 2024 up to Tue 8 Oct: only 8 Oct.
    (D(2024, 9, 30), D(2024, 10, 8), 1),
    # After Fri 27 Sep 2024 up to Tue 8 Oct: Sun 29, Mon 30, Tue 8.
    (D(2024, 9, 27), D(2024, 10, 8), 3),
    # After Wed 30 Sep 2026 up to Mon 12 Oct: 8, 9, Sat 10 make-up, 12.
    (D(2026, 9, 30), D(2026, 10, 12), 4),
    # After Fri 7 Feb 2025 up to Sun 9 Feb: Sat 8 make-up only.
    (D(2025, 2, 7), D(2025, 2, 9), 1),
    # Same day and backwards: nothing.
    (D(2025, 2, 7), D(2025, 2, 7), 0),
    (D(2025, 2, 9), D(2025, 2, 7), 0),
]


@pytest.mark.parametrize(("a", "b", "expected"), BETWEEN_CASES)
def test_working_days_between(cal: WorkingCalendar, a: date, b: date, expected: int) -> None:
    assert cal.working_days_between(a, b) == expected


def test_matches_the_library_day_by_day(cal: WorkingCalendar) -> None:
    # The calendar reads the library's tables directly for speed; it must agree
    # with the library's own rule on every day of the years we test.
    import chinese_calendar

    d = D(2024, 1, 1)
    while d <= D(2026, 12, 31):
        assert cal.is_working_day(d) == chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


def test_years_covered_and_outside(cal: WorkingCalendar) -> None:
    first, last = cal.years
    assert first <= 2024 and last >= 2026
    with pytest.raises(InputError, match=f"covers {first}-{last}"):
        cal.is_working_day(D(last + 1, 1, 5))
    with pytest.raises(InputError, match="outside the working-day calendar"):
        cal.add_working_days(D(last, 12, 30), 5)
    with pytest.raises(InputError):
        cal.is_working_day(D(first - 1, 6, 1))


def test_operator_days_override_the_library() -> None:
    base = WorkingCalendar()
    # A local holiday on Thu 26 Feb 2026 pushes the 5th working day after 12 Feb
    # from Thu 26 to Fri 27.
    with_holiday = WorkingCalendar(extra_holidays=[D(2026, 2, 26)])
    assert base.add_working_days(D(2026, 2, 12), 5) == D(2026, 2, 26)
    assert with_holiday.add_working_days(D(2026, 2, 12), 5) == D(2026, 2, 27)
    # Working Sun 15 Feb (a statutory holiday): 13 (1), 14 (2), 15 (3), 24 (4), 25 (5).
    with_workday = WorkingCalendar(extra_workdays=["2026-02-15"])
    assert with_workday.is_working_day(D(2026, 2, 15))
    assert with_workday.add_working_days(D(2026, 2, 12), 5) == D(2026, 2, 25)
    # An operator day is honoured even outside the library's years.
    ahead = WorkingCalendar(extra_workdays=[D(2030, 1, 2)], extra_holidays=[D(2030, 1, 1)])
    assert ahead.is_working_day(D(2030, 1, 2)) is True
    assert ahead.is_working_day(D(2030, 1, 1)) is False


def test_a_day_cannot_be_both() -> None:
    with pytest.raises(ConfigurationError, match="2026-03-02"):
        WorkingCalendar(extra_holidays=[D(2026, 3, 2)], extra_workdays=[D(2026, 3, 2)])


def test_bad_dates_and_negative_counts(cal: WorkingCalendar) -> None:
    with pytest.raises(InputError):
        WorkingCalendar(extra_holidays=["2026-02-30"])
    with pytest.raises(InputError):
        cal.add_working_days(D(2025, 1, 1), -1)


def test_load_calendar_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    assert load_calendar(path).extra_holidays == frozenset()  # missing file: library only
    path.write_text(
        "extra_holidays: [2026-02-26]\nextra_workdays: ['2026-03-01']\n", encoding="utf-8"
    )
    loaded = load_calendar(path)
    assert loaded.is_working_day(D(2026, 2, 26)) is False
    assert loaded.is_working_day(D(2026, 3, 1)) is True  # a Sunday made a working day
    path.write_text("extra_holiday: [2026-02-26]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="unknown keys"):
        load_calendar(path)
    path.write_text("extra_holidays: 2026-02-26\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="list"):
        load_calendar(path)


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 10, 31)),
    n=st.integers(min_value=0, max_value=40),
)
def test_between_inverts_add(start: date, n: int) -> None:
    cal = WorkingCalendar()
    end = cal.add_working_days(start, n)
    assert cal.working_days_between(start, end) == n
    if n > 0:
        # The N-th working day is a working day and the one before it is not reached yet.
        assert cal.is_working_day(end)
        assert cal.working_days_between(start, end - timedelta(days=1)) == n - 1


def test_datetime_is_read_as_its_day(cal: WorkingCalendar) -> None:
    from datetime import datetime

    assert cal.is_working_day(datetime(2024, 10, 1, 9, 30)) is False
    assert cal.is_working_day(datetime(2024, 10, 12, 9, 30)) is True
