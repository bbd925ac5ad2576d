"""Trigger rules: which event, for which subscriber, starts which action, how fast.

A trigger names one event type, a condition in the rule language over the
event's attributes (as ``event_<attr>``) and the subscriber's latest profile
(``stage``, ``is_core``, ``risk_decile``, ``segment_id``, ``pref_*``), an action
(a work order to the account manager, an outbound-call list entry or an
SMS), how soon the action is due, and a control share: the subscribers
whose (subscriber, trigger) draw falls below the share are held out, always
the same ones, so the trigger's effect can be measured.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tenure.domain import control_groups
from tenure.domain.errors import InputError, RuleSyntaxError
from tenure.domain.events import EVENT_TYPES, Event
from tenure.domain.rules import ast, evaluate, parse

ACTIONS: dict[str, str] = {"work_order": "account_manager", "outbound_call": "outbound_call", "sms": "sms"}
"""Trigger action -> the work-order channel it lands on."""

CAMPAIGN_PREFIX = "trigger:"
"""A trigger's work orders carry ``campaign_id`` = ``trigger:<trigger id>``; the monthly plan's never start so."""

_KEYS = {"id", "name", "name_zh", "event_type", "condition", "action", "due_within_hours", "control_share",
         "enabled", "description"}


@dataclass(frozen=True)
class Trigger:
    """One trigger rule (see the module docstring)."""

    trigger_id: str
    name: str
    name_zh: str
    event_type: str
    condition: str
    action: str
    due_within_hours: float = 2.0
    control_share: float = 0.0
    enabled: bool = True
    description: str = ""

    @property
    def channel(self) -> str:
        """The work-order channel of the action."""
        return ACTIONS[self.action]

    @property
    def campaign_id(self) -> str:
        """The ``campaign_id`` of the work orders this trigger creates."""
        return f"{CAMPAIGN_PREFIX}{self.trigger_id}"

    @cached_property
    def parsed(self) -> ast.Node | None:
        """The parsed condition (parsed once per trigger); ``None`` for an empty condition (always true)."""
        return parse(self.condition) if self.condition.strip() else None

    def matches(self, event: Event, profile: Mapping[str, Any] | None) -> bool:
        """True when ``event`` is of this trigger's type and the condition holds (null counts as false)."""
        if event.type != self.event_type:
            return False
        node = self.parsed
        if node is None:
            return True
        row = {**(profile or {}), **event.rule_row()}
        return evaluate(node, row, event.occurred_at.date()) is True

    def is_control(self, subscriber_id: str) -> bool:
        """True when the subscriber is held out of this trigger (deterministic per (subscriber, trigger))."""
        return self.control_share > 0 and control_groups.draw(subscriber_id, f"trigger:{self.trigger_id}") < self.control_share

    def due_at(self, event: Event) -> dt.datetime:
        """When the action is due: ``due_within_hours`` after the event."""
        return event.occurred_at + dt.timedelta(hours=self.due_within_hours)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.trigger_id, "name": self.name, "name_zh": self.name_zh, "event_type": self.event_type,
                "condition": self.condition, "action": self.action, "due_within_hours": self.due_within_hours,
                "control_share": self.control_share, "enabled": self.enabled, "description": self.description}


def trigger_from_mapping(doc: Any, source: str = "trigger") -> Trigger:
    """A validated :class:`Trigger` from a decoded YAML/JSON document; :class:`InputError` listing every problem.

    >>> t = trigger_from_mapping({"id": "t1", "name": "Complaint", "event_type": "complaint",
    ...                           "condition": "event_severity >= 3", "action": "work_order"})
    >>> t.channel, t.due_within_hours
    ('account_manager', 2.0)
    """
    if not isinstance(doc, Mapping):
        raise InputError(f"{source}: a trigger must be a mapping")
    problems: list[str] = []
    unknown = set(doc) - _KEYS
    if unknown:
        problems.append(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    for key in ("id", "name", "event_type", "action"):
        if not isinstance(doc.get(key), str) or not doc.get(key):
            problems.append(f"{key} is required")
    if doc.get("event_type") and doc.get("event_type") not in EVENT_TYPES:
        problems.append(f"event_type must be one of {', '.join(EVENT_TYPES)}")
    if doc.get("action") and doc.get("action") not in ACTIONS:
        problems.append(f"action must be one of {', '.join(ACTIONS)}")
    condition = doc.get("condition", "") or ""
    if not isinstance(condition, str):
        problems.append("condition must be text")
    elif condition.strip():
        try:
            parse(condition)
        except RuleSyntaxError as exc:
            problems.append(f"condition: {exc}")
    due = doc.get("due_within_hours", 2.0)
    if isinstance(due, bool) or not isinstance(due, int | float) or due <= 0:
        problems.append("due_within_hours must be a positive number")
    share = doc.get("control_share", 0.0)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share < 1:
        problems.append("control_share must be in [0, 1)")
    if not isinstance(doc.get("enabled", True), bool):
        problems.append("enabled must be true or false")
    if problems:
        raise InputError(f"{source}: " + "; ".join(problems))
    return Trigger(doc["id"], doc["name"], str(doc.get("name_zh", "")), doc["event_type"], condition,
                   doc["action"], float(due), float(share), bool(doc.get("enabled", True)),
                   str(doc.get("description", "")))
