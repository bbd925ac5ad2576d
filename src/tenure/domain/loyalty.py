"""Loyalty points (积分): accrual, redemption, expiry and an append-only ledger.

Rules:

* **Accrual by spend**: ``floor(spend in yuan x points per yuan)``; the rate
  depends on the card grade (diamond, gold, silver, or none).
* **Accrual by tenure**: a bonus per full year of tenure, awarded once a year
  on the anniversary (capped at ``tenure_bonus_max_years`` years).
* **Expiry**: points expire at the end of the year after the year they were
  earned (earned 10 March 2025 -> last usable day 31 December 2026).
* **Consumption**: a redemption takes points from the oldest lots first
  (earliest expiry, then earliest lot), after expiring what is due.

The ledger is append-only. Each account has entries numbered ``seq`` = 1, 2,
3, ... An entry either opens a *lot* (earn, or a positive adjustment; its
``lot`` is its own ``seq``) or draws on one (redeem, expire, negative
adjustment; its ``lot`` names the lot). Therefore:

* the balance is always the sum of the entries' amounts;
* a lot's remaining points are the sum of the entries that name it, never
  negative, so a redemption never overdraws (:class:`~tenure.domain.errors.Conflict`).

The functions ``plan_*`` take the account's existing entries and return the
entries to append, without changing anything: a store keeps one row per entry
with the unique key ``(account_id, seq)``; two writers that planned from the
same state collide on that key and one of them retries. :class:`PointsLedger`
is the in-memory version.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tenure.domain.errors import ConfigurationError, Conflict, InputError, NotFound


class CardGrade(StrEnum):
    """VIP card grades (钻卡 / 金卡 / 银卡) and no card."""

    DIAMOND = "diamond"
    GOLD = "gold"
    SILVER = "silver"
    NONE = "none"


class EntryKind(StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"


@dataclass(frozen=True)
class LoyaltyRules:
    """Accrual and expiry parameters (``loyalty`` section of ``enterprise.yaml``)."""

    points_per_yuan: Mapping[CardGrade, Decimal] = field(
        default_factory=lambda: {
            CardGrade.DIAMOND: Decimal(2),
            CardGrade.GOLD: Decimal("1.5"),
            CardGrade.SILVER: Decimal("1.2"),
            CardGrade.NONE: Decimal(1),
        }
    )
    tenure_bonus_per_year: int = 100
    tenure_bonus_max_years: int = 10
    expiry_years_after: int = 1
    """Points earned in year Y expire at the end of year Y + this."""

    def spend_points(self, spend_yuan: Decimal | int | str, card_grade: CardGrade | str) -> int:
        """Points for ``spend_yuan`` at ``card_grade``: rounded down to whole points.

        >>> LoyaltyRules().spend_points(Decimal("88.60"), "gold")  # 88.60 x 1.5 = 132.9
        132
        """
        spend = Decimal(str(spend_yuan))
        if not spend.is_finite() or spend < 0:
            raise InputError(f"spend must be zero or more, got {spend_yuan!r}")
        grade = parse_card_grade(card_grade)
        return math.floor(spend * self.points_per_yuan[grade])

    def tenure_points(self, tenure_years: int) -> int:
        """Anniversary bonus for ``tenure_years`` full years of tenure."""
        if tenure_years < 0:
            raise InputError(f"tenure must be zero or more years, got {tenure_years}")
        return self.tenure_bonus_per_year * min(tenure_years, self.tenure_bonus_max_years)

    def expires_on(self, earned_on: date) -> date:
        """Last day on which points earned on ``earned_on`` can be used."""
        return date(earned_on.year + self.expiry_years_after, 12, 31)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> LoyaltyRules:
        """Build from configuration; missing keys keep their defaults."""
        data = dict(data or {})
        base = cls()
        try:
            rates = dict(base.points_per_yuan)
            for k, v in (data.pop("points_per_yuan", None) or {}).items():
                rate = Decimal(str(v))
                if not rate.is_finite() or rate < 0:
                    raise ValueError(f"points per yuan for {k} must be zero or more")
                rates[parse_card_grade(k)] = rate
            kwargs = {
                k: int(data.pop(k))
                for k in list(data)
                if k in {"tenure_bonus_per_year", "tenure_bonus_max_years", "expiry_years_after"}
            }
            if data:
                raise ValueError(f"unknown keys {sorted(data)}")
            if any(v < 0 for v in kwargs.values()):
                raise ValueError("numbers must be zero or more")
        except (ValueError, TypeError, AttributeError, InputError, ArithmeticError) as exc:
            raise ConfigurationError(f"enterprise.yaml, loyalty: {exc}") from None
        return cls(points_per_yuan=rates, **kwargs)


def parse_card_grade(value: CardGrade | str | None) -> CardGrade:
    """``diamond``, ``gold``, ``silver`` or ``none`` (also empty) to a :class:`CardGrade`."""
    if isinstance(value, CardGrade):
        return value
    if value is None or str(value).strip() == "":
        return CardGrade.NONE
    try:
        return CardGrade(str(value).strip().lower())
    except ValueError:
        raise InputError(
            f"unknown card grade {value!r}; use diamond, gold, silver or none"
        ) from None


@dataclass(frozen=True)
class LedgerEntry:
    """One row of the points ledger."""

    account_id: str
    seq: int
    kind: EntryKind
    amount: int
    lot: int
    on: date
    expires_on: date | None = None
    """Set on entries that open a lot."""
    reference: str = ""
    """Spend month, reward code, reason of an adjustment."""

    @property
    def opens_lot(self) -> bool:
        return self.lot == self.seq

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "seq": self.seq,
            "kind": self.kind.value,
            "amount": self.amount,
            "lot": self.lot,
            "on": self.on.isoformat(),
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "reference": self.reference,
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> LedgerEntry:
        """From a stored row (the keys of :meth:`to_dict`; dates as ``date`` or ISO text)."""
        expires = row.get("expires_on")
        return cls(
            account_id=str(row["account_id"]),
            seq=int(row["seq"]),
            kind=EntryKind(row["kind"]),
            amount=int(row["amount"]),
            lot=int(row["lot"]),
            on=_as_date(row["on"]),
            expires_on=_as_date(expires) if expires else None,
            reference=str(row.get("reference") or ""),
        )


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True)
class Lot:
    """Points that entered together and expire together."""

    lot: int
    opened_on: date
    expires_on: date
    remaining: int


def balance(entries: Iterable[LedgerEntry]) -> int:
    """The balance: the sum of all entries."""
    return sum(e.amount for e in entries)


def lots(entries: Sequence[LedgerEntry]) -> list[Lot]:
    """Every lot with its remaining points, oldest first (by expiry, then lot)."""
    opened: dict[int, LedgerEntry] = {}
    remaining: dict[int, int] = {}
    for e in entries:
        if e.opens_lot:
            opened[e.seq] = e
            remaining[e.seq] = 0
        if e.lot not in remaining:
            raise Conflict(f"ledger {e.account_id}: entry {e.seq} draws on unknown lot {e.lot}")
        remaining[e.lot] += e.amount
    out = [Lot(n, opened[n].on, opened[n].expires_on or date.max, remaining[n]) for n in opened]
    return sorted(out, key=lambda x: (x.expires_on, x.lot))


def available(entries: Sequence[LedgerEntry], on: date) -> int:
    """Points that can be spent on ``on``: remaining points of lots not yet expired."""
    return sum(x.remaining for x in lots(entries) if x.expires_on >= on)


def validate(entries: Sequence[LedgerEntry]) -> None:
    """Check the ledger invariants; raise :class:`Conflict` on the first breach.

    One account; ``seq`` is 1..n in order; signs match kinds; every lot's running
    remainder stays at zero or more.
    """
    remaining: dict[int, int] = {}
    accounts = {e.account_id for e in entries}
    if len(accounts) > 1:
        raise Conflict(f"a ledger holds one account, found {sorted(accounts)}")
    for i, e in enumerate(entries, start=1):
        if e.seq != i:
            raise Conflict(f"ledger {e.account_id}: entry {i} has seq {e.seq}")
        if e.kind is EntryKind.EARN and not (e.amount > 0 and e.opens_lot):
            raise Conflict(
                f"ledger {e.account_id}: earn entry {e.seq} must add points to its own lot"
            )
        if e.kind in (EntryKind.REDEEM, EntryKind.EXPIRE) and not (
            e.amount < 0 and not e.opens_lot
        ):
            raise Conflict(
                f"ledger {e.account_id}: {e.kind.value} entry {e.seq} must take points from a lot"
            )
        if e.kind is EntryKind.ADJUST and (e.amount == 0 or (e.amount > 0) != e.opens_lot):
            raise Conflict(f"ledger {e.account_id}: adjust entry {e.seq} is inconsistent")
        if e.opens_lot:
            remaining[e.seq] = 0
        if e.lot not in remaining:
            raise Conflict(f"ledger {e.account_id}: entry {e.seq} draws on unknown lot {e.lot}")
        remaining[e.lot] += e.amount
        if remaining[e.lot] < 0:
            raise Conflict(f"ledger {e.account_id}: lot {e.lot} overdrawn at entry {e.seq}")


def _next_seq(entries: Sequence[LedgerEntry]) -> int:
    return (entries[-1].seq if entries else 0) + 1


def _last_day(entries: Sequence[LedgerEntry]) -> date | None:
    return max((e.on for e in entries), default=None)


def _check_day(entries: Sequence[LedgerEntry], on: date) -> None:
    # Entries are in business order; a back-dated entry could spend points that a
    # later entry already expired, so it is refused.
    last = _last_day(entries)
    if last is not None and on < last:
        raise Conflict(
            f"ledger already has entries on {last.isoformat()}; cannot post on {on.isoformat()}"
        )


def plan_earn(
    entries: Sequence[LedgerEntry],
    account_id: str,
    points: int,
    on: date,
    rules: LoyaltyRules,
    reference: str = "",
    kind: EntryKind = EntryKind.EARN,
) -> list[LedgerEntry]:
    """The entry that adds ``points`` as a new lot (``kind`` earn, or adjust for a credit)."""
    if points <= 0:
        raise InputError(f"points to add must be positive, got {points}")
    if kind not in (EntryKind.EARN, EntryKind.ADJUST):
        raise InputError(f"{kind.value} cannot add points")
    _check_day(entries, on)
    seq = _next_seq(entries)
    return [LedgerEntry(account_id, seq, kind, points, seq, on, rules.expires_on(on), reference)]


def plan_expire(entries: Sequence[LedgerEntry], account_id: str, on: date) -> list[LedgerEntry]:
    """Entries that expire every lot whose last usable day is before ``on``."""
    _check_day(entries, on)
    seq = _next_seq(entries)
    out = []
    for x in lots(entries):
        if x.expires_on < on and x.remaining > 0:
            out.append(
                LedgerEntry(
                    account_id, seq, EntryKind.EXPIRE, -x.remaining, x.lot, on, None, "expired"
                )
            )
            seq += 1
    return out


def plan_redeem(
    entries: Sequence[LedgerEntry],
    account_id: str,
    points: int,
    on: date,
    reference: str = "",
    kind: EntryKind = EntryKind.REDEEM,
) -> list[LedgerEntry]:
    """Entries that take ``points`` from the oldest lots, after expiring what is due.

    Raises :class:`Conflict` (and plans nothing) if fewer points are available.
    """
    if points <= 0:
        raise InputError(f"points to take must be positive, got {points}")
    if kind not in (EntryKind.REDEEM, EntryKind.ADJUST):
        raise InputError(f"{kind.value} cannot take points")
    out = plan_expire(entries, account_id, on)
    after = [*entries, *out]
    have = available(after, on)
    if have < points:
        raise Conflict(
            f"account {account_id} has {have} points available on {on.isoformat()}, {points} asked"
        )
    seq = _next_seq(after)
    left = points
    for x in lots(after):
        if left == 0:
            break
        if x.remaining <= 0 or x.expires_on < on:
            continue
        take = min(left, x.remaining)
        out.append(LedgerEntry(account_id, seq, kind, -take, x.lot, on, None, reference))
        seq += 1
        left -= take
    return out


@dataclass(frozen=True)
class Reward:
    """An item of the rewards catalogue."""

    code: str
    name: str
    points: int

    def __post_init__(self) -> None:
        if self.points <= 0:
            raise ConfigurationError(f"reward {self.code}: points must be positive")


@dataclass(frozen=True)
class Catalogue:
    """The rewards that points can be redeemed for."""

    rewards: tuple[Reward, ...] = ()

    def get(self, code: str) -> Reward:
        for r in self.rewards:
            if r.code == code:
                return r
        raise NotFound(f"no reward {code!r} in the catalogue")

    @classmethod
    def from_mapping(cls, data: Sequence[Mapping[str, Any]] | None) -> Catalogue:
        """From a list of ``{code, name, points}``."""
        try:
            rewards = tuple(
                Reward(str(r["code"]), str(r.get("name", r["code"])), int(r["points"]))
                for r in data or ()
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"enterprise.yaml, loyalty catalogue: {exc}") from None
        codes = [r.code for r in rewards]
        if len(codes) != len(set(codes)):
            raise ConfigurationError("enterprise.yaml, loyalty catalogue: duplicate reward codes")
        return cls(rewards)


def plan_reward(
    entries: Sequence[LedgerEntry],
    account_id: str,
    catalogue: Catalogue,
    code: str,
    on: date,
    quantity: int = 1,
) -> list[LedgerEntry]:
    """Entries that redeem ``quantity`` x reward ``code``."""
    if quantity <= 0:
        raise InputError(f"quantity must be positive, got {quantity}")
    reward = catalogue.get(code)
    return plan_redeem(
        entries, account_id, reward.points * quantity, on, reference=f"{code} x{quantity}"
    )


class PointsLedger:
    """One account's ledger in memory: every operation appends and never rewrites."""

    def __init__(
        self,
        account_id: str,
        rules: LoyaltyRules | None = None,
        entries: Iterable[LedgerEntry] = (),
    ) -> None:
        self.account_id = account_id
        self.rules = rules or LoyaltyRules()
        self._entries: list[LedgerEntry] = list(entries)
        validate(self._entries)

    @property
    def entries(self) -> tuple[LedgerEntry, ...]:
        return tuple(self._entries)

    @property
    def balance(self) -> int:
        return balance(self._entries)

    def available(self, on: date) -> int:
        return available(self._entries, on)

    def lots(self) -> list[Lot]:
        return lots(self._entries)

    def _append(self, new: list[LedgerEntry]) -> list[LedgerEntry]:
        validate([*self._entries, *new])
        self._entries.extend(new)
        return new

    def earn(self, points: int, on: date, reference: str = "") -> list[LedgerEntry]:
        """Add ``points`` earned on ``on``."""
        return self._append(
            plan_earn(self._entries, self.account_id, points, on, self.rules, reference)
        )

    def earn_for_spend(
        self,
        spend_yuan: Decimal | int | str,
        card_grade: CardGrade | str,
        on: date,
        reference: str = "",
    ) -> list[LedgerEntry]:
        """Add the points for a spend (nothing when it rounds to zero)."""
        points = self.rules.spend_points(spend_yuan, card_grade)
        return self.earn(points, on, reference) if points > 0 else []

    def earn_for_tenure(self, tenure_years: int, on: date) -> list[LedgerEntry]:
        """Add the anniversary bonus."""
        points = self.rules.tenure_points(tenure_years)
        return self.earn(points, on, f"tenure {tenure_years} years") if points > 0 else []

    def redeem(self, points: int, on: date, reference: str = "") -> list[LedgerEntry]:
        """Spend ``points``; :class:`Conflict` if not enough are available."""
        return self._append(plan_redeem(self._entries, self.account_id, points, on, reference))

    def redeem_reward(
        self, catalogue: Catalogue, code: str, on: date, quantity: int = 1
    ) -> list[LedgerEntry]:
        return self._append(
            plan_reward(self._entries, self.account_id, catalogue, code, on, quantity)
        )

    def expire(self, on: date) -> list[LedgerEntry]:
        """Expire lots whose last usable day is before ``on``."""
        return self._append(plan_expire(self._entries, self.account_id, on))

    def adjust(self, points: int, on: date, reason: str) -> list[LedgerEntry]:
        """A manual correction: a credit opens a lot, a debit draws oldest first."""
        if not reason:
            raise InputError("an adjustment needs a reason")
        if points > 0:
            new = plan_earn(
                self._entries, self.account_id, points, on, self.rules, reason, EntryKind.ADJUST
            )
        elif points < 0:
            new = plan_redeem(self._entries, self.account_id, -points, on, reason, EntryKind.ADJUST)
        else:
            raise InputError("an adjustment of zero points changes nothing")
        return self._append(new)
