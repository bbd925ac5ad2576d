"""The loyalty points ledger (积分) in the store.

Every posting locks the account row (``SELECT ... FOR UPDATE``), reads the
ledger, lets ``domain/loyalty.py`` plan the entries and appends them with the
next ``seq`` numbers; the unique ``(account_id, seq)`` is the second line of
defence: a writer that planned from a stale ledger collides and retries from
the fresh one. The cached ``balance`` on the account moves in the same
transaction, so it always equals the sum of the entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from tenure.domain import loyalty
from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.domain.grades_enterprise import EnterpriseConfig
from tenure.engines.store.enterprise_models import LoyaltyAccount, LoyaltyEntryRow
from tenure.engines.store.enterprise_repositories import LoyaltyRepository
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.auth import Principal
from tenure.services.key_accounts import Clock, actor_name, check_visible, today_of, utc_now

Planner = Callable[[Sequence[loyalty.LedgerEntry]], list[loyalty.LedgerEntry]]
RETRIES = 8


def _entry(row: LoyaltyEntryRow) -> loyalty.LedgerEntry:
    return loyalty.LedgerEntry(row.account_id, row.seq, loyalty.EntryKind(row.kind), row.amount, row.lot, row.on,
                               row.expires_on, row.reference)


class PointsService:
    """Accrual, redemption and expiry on the store's append-only ledger."""

    def __init__(self, uow: UnitOfWorkFactory, config: EnterpriseConfig, clock: Clock = utc_now) -> None:
        self.uow = uow
        self.rules = config.loyalty
        self.catalogue = config.catalogue
        self.clock = clock

    def open_account(self, principal: Principal | None, customer_id: str, account_id: str | None = None,
                     card_grade: str | None = None) -> str:
        check_visible(principal, customer_id, f"customer {customer_id}")
        account_id = account_id or customer_id
        grade = loyalty.parse_card_grade(card_grade)
        with self.uow() as uow:
            assert uow.session is not None
            repo = LoyaltyRepository(uow.session)
            if repo.account(account_id) is not None:
                raise Conflict(f"points account {account_id} exists")
            repo.add_account(LoyaltyAccount(account_id=account_id, customer_id=customer_id, card_grade=grade.value,
                                            balance=0, last_seq=0, created_at=self.clock()))
            uow.commit()
        return account_id

    def _post(self, principal: Principal | None, account_id: str, plan: Planner) -> list[dict[str, Any]]:
        last: Exception | None = None
        for _ in range(RETRIES):
            try:
                with self.uow() as uow:
                    assert uow.session is not None
                    repo = LoyaltyRepository(uow.session)
                    account = repo.account(account_id, lock=True)
                    if account is None:
                        raise NotFound(f"no points account {account_id}")
                    check_visible(principal, account.customer_id, f"points account {account_id}")
                    entries = [_entry(r) for r in repo.entries(account_id)]
                    new = plan(entries)
                    if not new:
                        return []
                    now = self.clock()
                    repo.append([LoyaltyEntryRow(account_id=e.account_id, seq=e.seq, kind=e.kind.value,
                                                 amount=e.amount, lot=e.lot, on=e.on, expires_on=e.expires_on,
                                                 reference=e.reference, actor=actor_name(principal),
                                                 recorded_at=now) for e in new])
                    # Added in SQL, not read-modify-write: the cached balance stays the sum of the entries
                    # even if a writer ever got past the lock.
                    account.balance = LoyaltyAccount.balance + sum(e.amount for e in new)  # type: ignore[assignment]
                    account.last_seq = new[-1].seq
                    uow.commit()
                    return [e.to_dict() for e in new]
            except (IntegrityError, OperationalError) as exc:
                # Another writer took the same seq (or SQLite's single writer was busy): replan from fresh rows.
                last = exc
        raise Conflict(f"points account {account_id} is busy; try again") from last

    def earn(self, principal: Principal | None, account_id: str, points: int, on: date | None = None,
             reference: str = "") -> list[dict[str, Any]]:
        day = on or today_of(self.clock)
        return self._post(principal, account_id,
                          lambda es: loyalty.plan_earn(es, account_id, points, day, self.rules, reference))

    def earn_for_spend(self, principal: Principal | None, account_id: str, spend_yuan: Decimal | str,
                       month: str, on: date | None = None) -> list[dict[str, Any]]:
        """Points for one month's spend at the account's card grade (nothing for a spend worth 0 points)."""
        with self.uow() as uow:
            assert uow.session is not None
            account = LoyaltyRepository(uow.session).account(account_id)
            if account is None:
                raise NotFound(f"no points account {account_id}")
            grade = account.card_grade
        points = self.rules.spend_points(Decimal(str(spend_yuan)), grade)
        if points <= 0:
            return []
        return self.earn(principal, account_id, points, on, reference=f"spend {month}")

    def accrue_spend(self, principal: Principal | None, account_id: str, spend_yuan: Decimal | str,
                     card_grade: str | None, month: str, on: date) -> list[dict[str, Any]]:
        """The month's spend points at the month's card grade, once per month (a rerun adds nothing).

        The account's card grade follows the month's grading, in the same transaction as the points.
        """
        grade = loyalty.parse_card_grade(card_grade)
        points = self.rules.spend_points(Decimal(str(spend_yuan)), grade)
        reference = f"spend {month}"

        def plan(es: Sequence[loyalty.LedgerEntry]) -> list[loyalty.LedgerEntry]:
            if points <= 0 or any(e.reference == reference for e in es):
                return []
            return loyalty.plan_earn(es, account_id, points, on, self.rules, reference)

        entries = self._post(principal, account_id, plan)
        if entries:
            with self.uow() as uow:
                assert uow.session is not None
                account = LoyaltyRepository(uow.session).account(account_id, lock=True)
                if account is not None and account.card_grade != grade.value:
                    account.card_grade = grade.value
                    uow.commit()
        return entries

    def account_ids(self) -> list[tuple[str, str]]:
        """(account_id, customer_id) of every points account, for the monthly accrual job."""
        with self.uow() as uow:
            assert uow.session is not None
            return [(a.account_id, a.customer_id) for a in LoyaltyRepository(uow.session).all_accounts()]

    def earn_for_tenure(self, principal: Principal | None, account_id: str, tenure_years: int,
                        on: date | None = None) -> list[dict[str, Any]]:
        """The anniversary bonus for ``tenure_years`` full years (capped by the rules); once per year."""
        day = on or today_of(self.clock)
        reference = f"tenure {day.year}"

        def plan(es: Sequence[loyalty.LedgerEntry]) -> list[loyalty.LedgerEntry]:
            # One bonus a year: a rerun of the anniversary job adds nothing.
            if any(e.reference == reference for e in es):
                return []
            points = self.rules.tenure_points(tenure_years)
            return loyalty.plan_earn(es, account_id, points, day, self.rules, reference) if points > 0 else []

        return self._post(principal, account_id, plan)

    def redeem(self, principal: Principal | None, account_id: str, points: int, on: date | None = None,
               reference: str = "") -> list[dict[str, Any]]:
        """Take ``points`` from the oldest lots; :class:`Conflict` if fewer are available."""
        day = on or today_of(self.clock)
        return self._post(principal, account_id,
                          lambda es: loyalty.plan_redeem(es, account_id, points, day, reference))

    def redeem_reward(self, principal: Principal | None, account_id: str, code: str, quantity: int = 1,
                      on: date | None = None) -> list[dict[str, Any]]:
        day = on or today_of(self.clock)
        return self._post(principal, account_id,
                          lambda es: loyalty.plan_reward(es, account_id, self.catalogue, code, day, quantity))

    def expire(self, principal: Principal | None, account_id: str, on: date | None = None) -> list[dict[str, Any]]:
        day = on or today_of(self.clock)
        return self._post(principal, account_id, lambda es: loyalty.plan_expire(es, account_id, day))

    def statement(self, principal: Principal | None, account_id: str, on: date | None = None) -> dict[str, Any]:
        """Balance, points available, lots and entries of one account."""
        day = on or today_of(self.clock)
        with self.uow() as uow:
            assert uow.session is not None
            repo = LoyaltyRepository(uow.session)
            account = repo.account(account_id)
            if account is None:
                raise NotFound(f"no points account {account_id}")
            check_visible(principal, account.customer_id, f"points account {account_id}")
            entries = [_entry(r) for r in repo.entries(account_id)]
            stored_balance = account.balance
            customer_id, grade = account.customer_id, account.card_grade
        if stored_balance != loyalty.balance(entries):
            raise Conflict(f"points account {account_id}: balance {stored_balance} differs from its ledger")
        return {
            "account_id": account_id, "customer_id": customer_id, "card_grade": grade,
            "balance": stored_balance, "available": loyalty.available(entries, day),
            "lots": [{"lot": x.lot, "opened_on": x.opened_on, "expires_on": x.expires_on, "remaining": x.remaining}
                     for x in loyalty.lots(entries) if x.remaining],
            "entries": [e.to_dict() for e in entries],
        }

    def of_customer(self, principal: Principal | None, customer_id: str) -> list[dict[str, Any]]:
        """Statements of the customer's accounts (for the customer 360 page)."""
        check_visible(principal, customer_id, f"customer {customer_id}")
        with self.uow() as uow:
            assert uow.session is not None
            ids = [a.account_id for a in LoyaltyRepository(uow.session).accounts_of(customer_id)]
        return [self.statement(principal, a) for a in ids]

    def check_ledger(self, account_id: str) -> None:
        """Raise :class:`Conflict` unless the stored ledger keeps the domain invariants."""
        with self.uow() as uow:
            assert uow.session is not None
            repo = LoyaltyRepository(uow.session)
            account = repo.account(account_id)
            if account is None:
                raise NotFound(f"no points account {account_id}")
            entries = [_entry(r) for r in repo.entries(account_id)]
            if account.balance != repo.sum_of_entries(account_id):
                raise Conflict(f"points account {account_id}: balance differs from the sum of entries")
        loyalty.validate(entries)


def parse_points(value: str | int) -> int:
    try:
        points = int(value)
    except (TypeError, ValueError):
        raise InputError(f"points must be a whole number, got {value!r}") from None
    if points <= 0:
        raise InputError(f"points must be positive, got {points}")
    return points
