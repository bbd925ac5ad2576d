"""Loyalty points: accrual, FIFO redemption, expiry and the append-only ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.errors import ConfigurationError, Conflict, InputError, NotFound
from tenure.domain.grades_enterprise import load_enterprise_config
from tenure.domain.loyalty import (
    Catalogue,
    EntryKind,
    LedgerEntry,
    LoyaltyRules,
    PointsLedger,
    balance,
    lots,
    plan_redeem,
    validate,
)

D = date
RULES = LoyaltyRules()


@pytest.mark.parametrize(
    ("spend", "grade", "points"),
    [
        ("100", "diamond", 200),  # 100 x 2
        ("88.60", "gold", 132),  # 88.60 x 1.5 = 132.9, rounded down
        ("99.99", "silver", 119),  # 99.99 x 1.2 = 119.988
        ("58", "none", 58),
        ("58", None, 58),  # no card
        ("0.50", "none", 0),
    ],
)
def test_spend_points(spend: str, grade: str | None, points: int) -> None:
    assert RULES.spend_points(Decimal(spend), grade) == points  # type: ignore[arg-type]


def test_tenure_points_and_expiry() -> None:
    assert RULES.tenure_points(0) == 0
    assert RULES.tenure_points(3) == 300
    assert RULES.tenure_points(25) == 1000  # capped at 10 years
    # Earned any day of 2025 -> usable until 31 Dec 2026.
    assert RULES.expires_on(D(2025, 1, 1)) == RULES.expires_on(D(2025, 12, 31)) == D(2026, 12, 31)
    with pytest.raises(InputError):
        RULES.spend_points("-1", "gold")
    with pytest.raises(InputError):
        RULES.spend_points("10", "platinum")


def test_shipped_rules_and_catalogue() -> None:
    config = load_enterprise_config()
    assert config.loyalty == LoyaltyRules()
    assert config.catalogue.get("DATA-1G").points == 500
    with pytest.raises(NotFound):
        config.catalogue.get("NOPE")
    with pytest.raises(ConfigurationError):
        LoyaltyRules.from_mapping({"points_per_yuan": {"gold": -1}})
    with pytest.raises(ConfigurationError):
        LoyaltyRules.from_mapping({"bonus": 1})
    with pytest.raises(ConfigurationError):
        Catalogue.from_mapping([{"code": "A", "points": 1}, {"code": "A", "points": 2}])


def test_fifo_and_expiry_worked_example() -> None:
    ledger = PointsLedger("S1")
    ledger.earn(100, D(2024, 3, 10), "spend 2024-02")  # lot 1, usable to 2025-12-31
    ledger.earn(50, D(2025, 1, 5), "spend 2024-12")  # lot 2, usable to 2026-12-31
    # 120 on 1 Jun 2025: all 100 of lot 1 first, then 20 of lot 2.
    taken = ledger.redeem(120, D(2025, 6, 1), "DATA")
    assert [(e.lot, e.amount) for e in taken] == [(1, -100), (2, -20)]
    assert ledger.balance == 30
    ledger.earn(70, D(2025, 7, 1))  # lot 5, usable to 2026-12-31
    # On 1 Jan 2027 lots 2 (30 left) and 5 (70) have expired.
    expired = ledger.expire(D(2027, 1, 1))
    assert [(e.kind, e.lot, e.amount) for e in expired] == [
        (EntryKind.EXPIRE, 2, -30),
        (EntryKind.EXPIRE, 5, -70),
    ]
    assert ledger.balance == 0
    assert ledger.expire(D(2027, 1, 2)) == []  # nothing left to expire


def test_redeem_expires_first_and_never_overdraws() -> None:
    ledger = PointsLedger("S1")
    ledger.earn(100, D(2024, 3, 10))  # usable to 2025-12-31
    ledger.earn(50, D(2025, 3, 10))  # usable to 2026-12-31
    before = ledger.entries
    # On 2 Jan 2026 only lot 2 is usable: 60 > 50.
    with pytest.raises(Conflict, match="50 points available"):
        ledger.redeem(60, D(2026, 1, 2))
    assert ledger.entries == before  # nothing was written
    # 50 works, and the planned entries expire lot 1 before drawing on lot 2.
    new = ledger.redeem(50, D(2026, 1, 2), "FEE-50")
    assert [(e.kind, e.lot, e.amount) for e in new] == [
        (EntryKind.EXPIRE, 1, -100),
        (EntryKind.REDEEM, 2, -50),
    ]
    assert ledger.balance == 0 == balance(ledger.entries)


def test_reward_and_adjustments() -> None:
    config = load_enterprise_config()
    ledger = PointsLedger("S1", config.loyalty)
    ledger.earn_for_spend("500", "diamond", D(2025, 2, 1))  # 1000 points
    ledger.earn_for_tenure(2, D(2025, 2, 1))  # 200 points
    ledger.redeem_reward(config.catalogue, "MIN-100", D(2025, 3, 1))  # 800
    assert ledger.balance == 400
    with pytest.raises(Conflict):
        ledger.redeem_reward(config.catalogue, "DATA-1G", D(2025, 3, 1))  # 500 > 400
    ledger.adjust(-150, D(2025, 3, 2), "duplicate accrual")
    ledger.adjust(25, D(2025, 3, 2), "goodwill")
    assert ledger.balance == 275
    with pytest.raises(InputError):
        ledger.adjust(10, D(2025, 3, 2), "")
    with pytest.raises(Conflict):
        ledger.earn(10, D(2025, 3, 1))  # back-dated after entries of 2 Mar


def test_validate_catches_a_tampered_ledger() -> None:
    entries = [
        LedgerEntry("S1", 1, EntryKind.EARN, 10, 1, D(2025, 1, 1), D(2026, 12, 31)),
        LedgerEntry("S1", 2, EntryKind.REDEEM, -15, 1, D(2025, 1, 2)),
    ]
    with pytest.raises(Conflict, match="overdrawn"):
        validate(entries)
    with pytest.raises(Conflict, match="seq"):
        validate([entries[0], LedgerEntry("S1", 5, EntryKind.REDEEM, -1, 1, D(2025, 1, 2))])
    with pytest.raises(Conflict):
        PointsLedger("S1", entries=entries)


def test_planning_does_not_change_the_entries() -> None:
    ledger = PointsLedger("S1")
    ledger.earn(10, D(2025, 1, 1))
    entries = list(ledger.entries)
    plan = plan_redeem(entries, "S1", 4, D(2025, 1, 2))
    assert [e.seq for e in plan] == [2]
    assert entries == list(ledger.entries)


ops = st.lists(
    st.tuples(
        st.sampled_from(["earn", "redeem", "expire", "adjust"]),
        st.integers(min_value=-300, max_value=500),
        st.integers(min_value=0, max_value=200),  # days after the previous operation
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops)
def test_ledger_invariants(operations: list[tuple[str, int, int]]) -> None:
    ledger = PointsLedger("S1")
    on = D(2024, 1, 1)
    added = taken = 0
    for kind, points, gap in operations:
        on += timedelta(days=gap)
        before = ledger.entries
        can_spend = ledger.available(on)
        try:
            if kind == "earn":
                if points <= 0:
                    continue
                ledger.earn(points, on)
            elif kind == "redeem":
                if points <= 0:
                    continue
                ledger.redeem(points, on)
                assert points <= can_spend
            elif kind == "expire":
                ledger.expire(on)
            elif points != 0:
                ledger.adjust(points, on, "correction")
                assert points > 0 or -points <= can_spend
        except Conflict:
            # Refused only when it would overdraw, and then nothing was written.
            assert kind in ("redeem", "adjust") and abs(points) > can_spend
            assert ledger.entries == before
        entries = ledger.entries
        assert ledger.balance == sum(e.amount for e in entries)
        assert ledger.balance >= 0
        assert all(x.remaining >= 0 for x in lots(entries))
        assert ledger.balance == sum(x.remaining for x in lots(entries))
        validate(entries)
    # Conservation: every point that came in is still there or went out by one entry.
    added = sum(e.amount for e in ledger.entries if e.amount > 0)
    taken = -sum(e.amount for e in ledger.entries if e.amount < 0)
    assert added - taken == ledger.balance
    # After expiring at a date, nothing past its last usable day is left.
    end = on + timedelta(days=1)
    ledger.expire(end)
    assert all(x.remaining == 0 for x in ledger.lots() if x.expires_on < end)


def test_entries_round_trip_through_rows() -> None:
    # What a table-backed ledger stores and reads back is the same ledger.
    ledger = PointsLedger("S1")
    ledger.earn(100, D(2024, 3, 10))
    ledger.redeem(30, D(2024, 4, 1), "DATA-1G x1")
    rows = [e.to_dict() for e in ledger.entries]
    back = [LedgerEntry.from_dict(r) for r in rows]
    assert back == list(ledger.entries)
    assert PointsLedger("S1", entries=back).balance == 70
