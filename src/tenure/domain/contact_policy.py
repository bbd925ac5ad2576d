"""The contact policy: how often and how a customer may be contacted, across all campaigns.

The policy protects the customer from the operator's own enthusiasm: a global
cap of contacts per customer in a rolling window (whatever the campaign), a
cool-down after the customer has refused an offer, the hours of the day in
which contact is allowed, and the customer's own choices per channel —
do-not-disturb registrations and opt-outs (channel ``*`` means every channel).

The planner applies the cap and the cool-down to the whole customer and
do-not-disturb / opt-out channel by channel; see ``docs/campaigns.md``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tenure.domain.campaigns import Campaign

ALL_CHANNELS = "*"
"""Channel value of a do-not-disturb or opt-out entry that covers every channel."""

SUPPRESSION_KINDS: tuple[str, ...] = ("do_not_disturb", "opt_out")

REFUSAL_OUTCOMES: tuple[str, ...] = ("refused", "complained")
"""Outcomes of a past contact that start the cool-down."""


@dataclass(frozen=True)
class ContactPolicy:
    """Operator-wide contact rules.

    ``max_contacts`` contacts per customer in any ``window_days`` days across
    campaigns; no new contact for ``cooldown_days`` after a refusal; contact
    only between ``allowed_hours`` (start inclusive, end exclusive).
    """

    max_contacts: int = 2
    window_days: int = 30
    cooldown_days: int = 60
    allowed_hours: tuple[int, int] = (9, 20)
    refusal_outcomes: tuple[str, ...] = REFUSAL_OUTCOMES

    def __post_init__(self) -> None:
        if self.max_contacts < 0:
            raise ValueError("max_contacts must not be negative")
        if self.window_days <= 0:
            raise ValueError("window_days must be positive")
        if self.cooldown_days < 0:
            raise ValueError("cooldown_days must not be negative")
        start, end = self.allowed_hours
        if not 0 <= start < end <= 24:
            raise ValueError("allowed_hours must be (start, end) with 0 <= start < end <= 24")

    def window_start(self, plan_date: dt.date) -> dt.date:
        """First day of the rolling window that ends the day before ``plan_date``."""
        return plan_date - dt.timedelta(days=self.window_days)

    def cooldown_start(self, plan_date: dt.date) -> dt.date:
        """A refusal on or after this day still blocks contact on ``plan_date``."""
        return plan_date - dt.timedelta(days=self.cooldown_days)

    def is_capped(self, contacts_in_window: int) -> bool:
        """True when one more contact would exceed the cap.

        >>> ContactPolicy(max_contacts=2).is_capped(2)
        True
        """
        return contacts_in_window >= self.max_contacts

    def is_cooling_down(self, last_refusal: dt.date | None, plan_date: dt.date) -> bool:
        """True when a refusal on ``last_refusal`` still blocks contact on ``plan_date``."""
        return last_refusal is not None and self.cooldown_start(plan_date) <= last_refusal < plan_date

    def contact_hours(self, campaign: Campaign) -> tuple[int, int] | None:
        """Hours in which ``campaign`` may contact: its own hours within the policy's.

        ``None`` when the two do not overlap (the campaign could never call).

        >>> from tenure.domain.campaigns import ContactRules
        >>> import datetime as dt
        >>> c = Campaign("c", "n", "complaint_care", "complaint_callback", "complaints > 0",
        ...              ("outbound_call",), dt.date(2026, 11, 1), dt.date(2026, 11, 30),
        ...              contact_rules=ContactRules(allowed_hours=(8, 18)))
        >>> ContactPolicy(allowed_hours=(9, 20)).contact_hours(c)
        (9, 18)
        """
        start = max(self.allowed_hours[0], campaign.contact_rules.allowed_hours[0])
        end = min(self.allowed_hours[1], campaign.contact_rules.allowed_hours[1])
        return (start, end) if start < end else None


@dataclass(frozen=True)
class ChannelCapacity:
    """How many contacts each channel can make: per day and per (ISO) week.

    A channel missing from both maps has no limit (an SMS gateway, say). Over
    a planning window the capacity of a channel is, week by week, the smaller
    of the weekly limit and the daily limit times the days in that week the
    channel is in use (a week only partly in use gets that part of the weekly
    limit), summed over the weeks.
    """

    daily: Mapping[str, int] = field(default_factory=dict)
    weekly: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, table in (("daily", self.daily), ("weekly", self.weekly)):
            for channel, value in table.items():
                if value < 0:
                    raise ValueError(f"{name} capacity of {channel} must not be negative")

    @classmethod
    def from_resources(
        cls,
        *,
        call_centre_seats: int | None = None,
        calls_per_seat_per_day: int = 60,
        account_managers: int | None = None,
        orders_per_account_manager_per_week: int = 40,
        community_managers: int | None = None,
        orders_per_community_manager_per_week: int = 60,
        store_slots_per_day: int | None = None,
        sms_per_day: int | None = None,
        **daily: int,
    ) -> ChannelCapacity:
        """Capacity from the people and systems that make contact.

        >>> ChannelCapacity.from_resources(call_centre_seats=10, calls_per_seat_per_day=50).daily
        {'outbound_call': 500}
        """
        day: dict[str, int] = dict(daily)
        week: dict[str, int] = {}
        if call_centre_seats is not None:
            day["outbound_call"] = call_centre_seats * calls_per_seat_per_day
        if account_managers is not None:
            week["account_manager"] = account_managers * orders_per_account_manager_per_week
        if community_managers is not None:
            week["community_manager"] = community_managers * orders_per_community_manager_per_week
        if store_slots_per_day is not None:
            day["store"] = store_slots_per_day
        if sms_per_day is not None:
            day["sms"] = sms_per_day
        return cls(daily=day, weekly=week)

    def limit(self, channel: str, days: Iterable[dt.date]) -> int | None:
        """Contacts ``channel`` can make on ``days``; ``None`` when it has no limit.

        >>> import datetime as dt
        >>> days = [dt.date(2026, 11, 2) + dt.timedelta(d) for d in range(14)]
        >>> ChannelCapacity(daily={"store": 10}, weekly={"store": 50}).limit("store", days)
        100
        """
        per_day, per_week = self.daily.get(channel), self.weekly.get(channel)
        if per_day is None and per_week is None:
            return None
        weeks: Counter[tuple[int, int]] = Counter(d.isocalendar()[:2] for d in set(days))
        total = 0
        for n_days in weeks.values():
            # A week only partly in the window gets its share of the weekly limit.
            week_part = None if per_week is None else per_week * n_days // 7
            caps = [c for c in (week_part, None if per_day is None else per_day * n_days) if c is not None]
            total += min(caps)
        return total
