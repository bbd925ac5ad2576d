"""The points ledger in the store: balance = sum of entries, no overdraft under concurrent redemptions."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tenure.domain.errors import Conflict, InputError
from tenure.engines.store.enterprise_repositories import LoyaltyRepository
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.points import PointsService

from .ent_builders import uid


def test_accrual_redemption_expiry_and_statement(ent_store, ent_config, clock) -> None:
    points = PointsService(ent_store, ent_config, clock=clock)
    cust = uid("C")
    acc = points.open_account(None, cust, card_grade="gold")
    assert points.earn_for_spend(None, acc, "200.70", "2024-03", on=date(2024, 4, 1))[0]["amount"] == 301
    assert points.earn_for_tenure(None, acc, 5, on=date(2025, 2, 1))[0]["amount"] == 500
    assert points.earn_for_tenure(None, acc, 5, on=date(2025, 2, 1)) == []  # once a year
    taken = points.redeem(None, acc, 400, on=date(2025, 3, 1), reference="voucher")
    assert [e["lot"] for e in taken] == [1, 2]  # oldest lot first
    with pytest.raises(Conflict):
        points.redeem(None, acc, 10_000, on=date(2025, 3, 1))
    expired = points.expire(None, acc, on=date(2026, 1, 1))  # nothing left of 2024's lot
    assert expired == []
    s = points.statement(None, acc, on=date(2026, 1, 1))
    assert s["balance"] == sum(e["amount"] for e in s["entries"]) == 401
    assert [e["seq"] for e in s["entries"]] == [1, 2, 3, 4]
    assert points.of_customer(None, cust)[0]["account_id"] == acc
    points.check_ledger(acc)
    with pytest.raises(InputError):
        points.redeem(None, acc, 0)


def test_expiry_takes_what_is_left_of_old_lots(ent_store, ent_config, clock) -> None:
    points = PointsService(ent_store, ent_config, clock=clock)
    acc = points.open_account(None, uid("C"))
    points.earn(None, acc, 300, on=date(2023, 6, 1))
    points.redeem(None, acc, 100, on=date(2024, 1, 5))
    out = points.expire(None, acc, on=date(2025, 1, 1))
    assert [(e["kind"], e["amount"]) for e in out] == [("expire", -200)]
    assert points.statement(None, acc, on=date(2025, 1, 1))["balance"] == 0


@pytest.mark.postgres
def test_twenty_simultaneous_redemptions_never_overdraw(ent_postgres_engine: Engine, ent_config, clock) -> None:
    """Committed transactions from 20 threads on PostgreSQL: 100 points, 20 x 10 asked."""
    points = PointsService(UnitOfWorkFactory(ent_postgres_engine), ent_config, clock=clock)
    acc = points.open_account(None, uid("C"))
    points.earn(None, acc, 60, on=date(2024, 10, 1))
    points.earn(None, acc, 40, on=date(2024, 10, 2))
    start = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def redeem() -> None:
        start.wait()
        try:
            points.redeem(None, acc, 10, on=date(2024, 10, 8), reference="gift")
            outcome = "ok"
        except Conflict:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] * 10 + ["refused"] * 10
    s = points.statement(None, acc, on=date(2024, 10, 8))
    assert s["balance"] == 0 and s["available"] == 0
    redemptions = [e for e in s["entries"] if e["kind"] == "redeem"]
    assert -sum(e["amount"] for e in redemptions) == 100  # no lost and no double-counted entry
    assert [e["seq"] for e in s["entries"]] == list(range(1, len(s["entries"]) + 1))
    points.check_ledger(acc)


OPS = st.lists(
    st.tuples(st.sampled_from(["earn", "redeem", "expire"]), st.integers(1, 400), st.integers(0, 400)),
    min_size=1, max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_balance_always_equals_the_sum_of_entries(ent_sqlite_engine: Engine, ent_config, ops) -> None:
    uow = UnitOfWorkFactory(ent_sqlite_engine)
    points = PointsService(uow, ent_config)
    acc = points.open_account(None, uid("C"))
    day = date(2023, 1, 1)
    for op, amount, step in ops:
        day = day + timedelta(days=step)
        try:
            if op == "earn":
                points.earn(None, acc, amount, on=day)
            elif op == "redeem":
                points.redeem(None, acc, amount, on=day)
            else:
                points.expire(None, acc, on=day)
        except Conflict:
            pass  # a refused redemption writes nothing
        with uow() as u:
            repo = LoyaltyRepository(u.session)
            account = repo.account(acc)
            assert account is not None
            assert account.balance == repo.sum_of_entries(acc) >= 0
    points.check_ledger(acc)
