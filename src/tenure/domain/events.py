"""Events: the moments of truth that arrive one by one (a complaint, a port-out inquiry, ...).

An event is validated before anything acts on it; an invalid one is never
dropped silently but kept as a dead letter with the reasons :func:`event_problems`
gives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tenure.domain.errors import InputError

EVENT_TYPES: tuple[str, ...] = (
    "complaint", "port_out_inquiry", "quota_nearly_used", "bill_shock", "cancellation_order", "other_op_cs_call",
)
"""Event types the intake accepts."""

_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_ATTR = re.compile(r"^[a-z][a-z0-9_]{0,57}$")
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class Event:
    """One validated event; ``occurred_at`` is timezone-aware (UTC when the source gave none)."""

    event_id: str
    subscriber_id: str
    type: str
    occurred_at: dt.datetime
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @cached_property
    def month(self) -> str:
        """The ``YYYY-MM`` month the event happened in (computed once: the intake asks often)."""
        return f"{self.occurred_at.year:04d}-{self.occurred_at.month:02d}"

    def rule_row(self) -> dict[str, Any]:
        """The event's attributes as rule-language columns ``event_<attr>``."""
        return {f"event_{k}": v for k, v in self.attributes.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "subscriber_id": self.subscriber_id, "type": self.type,
                "occurred_at": self.occurred_at.isoformat(), "attributes": dict(self.attributes)}


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, str):
        try:
            t = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def event_problems(raw: Any) -> list[str]:
    """Reasons ``raw`` (a decoded JSON document) is not a valid event; empty when it is.

    >>> event_problems({"event_id": "e1", "subscriber_id": "s1", "type": "complaint",
    ...                 "occurred_at": "2026-11-23T08:00:00Z", "attributes": {}})
    []
    >>> event_problems({"event_id": "e1", "type": "spam"})[:2]
    ['subscriber_id is missing', "type 'spam' is not one of complaint, port_out_inquiry, quota_nearly_used, bill_shock, cancellation_order, other_op_cs_call"]
    """
    if not isinstance(raw, Mapping):
        return ["an event must be a JSON object"]
    problems: list[str] = []
    for key in ("event_id", "subscriber_id"):
        value = raw.get(key)
        if value is None or value == "":
            problems.append(f"{key} is missing")
        elif not isinstance(value, str) or not _ID.match(value):
            problems.append(f"{key} must be 1-128 letters, digits or _.:-")
    kind = raw.get("type")
    if kind is None:
        problems.append("type is missing")
    elif kind not in EVENT_TYPES:
        problems.append(f"type {kind!r} is not one of {', '.join(EVENT_TYPES)}")
    if raw.get("occurred_at") is None:
        problems.append("occurred_at is missing")
    elif _parse_time(raw.get("occurred_at")) is None:
        problems.append("occurred_at must be an ISO 8601 date-time")
    attrs = raw.get("attributes", {})
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, Mapping):
        problems.append("attributes must be an object")
    else:
        for k, v in attrs.items():
            if not isinstance(k, str) or not _ATTR.match(k):
                problems.append(f"attribute name {k!r} must be lower_snake_case")
            elif not isinstance(v, _SCALARS):
                problems.append(f"attribute {k} must be a string, number, boolean or null")
    unknown = set(raw) - {"event_id", "subscriber_id", "type", "occurred_at", "attributes"}
    if unknown:
        problems.append(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    return problems


def parse_event(raw: Any) -> Event:
    """A validated :class:`Event` from a decoded document; :class:`InputError` with every reason otherwise."""
    problems = event_problems(raw)
    if problems:
        raise InputError("invalid event: " + "; ".join(problems))
    occurred = _parse_time(raw["occurred_at"])
    assert occurred is not None
    return Event(raw["event_id"], raw["subscriber_id"], raw["type"], occurred, dict(raw.get("attributes") or {}))
