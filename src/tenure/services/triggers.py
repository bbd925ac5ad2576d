"""Moments of truth: act on one event at a time, exactly once.

``process_event`` validates the event, and in ONE unit of work: checks the
event id has not been processed (``processed_events`` is unique on it),
finds the first enabled trigger whose condition holds, holds the subscriber
out when the (subscriber, trigger) draw falls in the control share, applies
the contact policy (do-not-disturb / opt-out, contact cap, cool-down after a
refusal, one work order per subscriber and month), writes the decision and
creates the work order. A redelivered event therefore never creates a second
work order: either the first delivery's transaction committed (and the
redelivery finds its row) or it did not (and nothing of it exists).
Invalid events become dead letters with their reasons.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from tenure.domain.contact_policy import ALL_CHANNELS, ContactPolicy
from tenure.domain.errors import InputError
from tenure.domain.events import Event, event_problems, parse_event
from tenure.domain.triggers import Trigger, trigger_from_mapping
from tenure.engines.store.campaign_models import ContactRecord, ContactSuppression, WorkOrder
from tenure.engines.store.trigger_models import DeadLetter, ProcessedEvent
from tenure.engines.store.unit_of_work import UnitOfWork

SHIPPED_TRIGGERS = Path(__file__).resolve().parent.parent / "triggers"
"""The example triggers shipped with Tenure."""

ProfileLookup = Callable[[str], Mapping[str, Any] | None]
"""subscriber_id -> the subscriber's latest profile row (None when unknown)."""

DECISIONS = ("selected", "control", "suppressed", "no_match", "dead_letter")


@dataclass
class Decision:
    """What happened to one event; ``duplicate`` when it had been processed before (nothing new was done)."""

    event_id: str | None
    decision: str
    trigger_id: str | None = None
    reason: str = ""
    work_order_id: int | None = None
    due_at: str | None = None
    duplicate: bool = False
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "decision": self.decision, "trigger_id": self.trigger_id,
                "reason": self.reason, "work_order_id": self.work_order_id, "due_at": self.due_at,
                "duplicate": self.duplicate, "problems": self.problems}


def load_triggers(paths: Iterable[Path] | Path = SHIPPED_TRIGGERS) -> list[Trigger]:
    """Triggers from YAML files (a folder means every ``*.yaml`` in it), in file-name order; ids must be unique."""
    files: list[Path] = []
    for p in [paths] if isinstance(paths, Path) else list(paths):
        files.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    out: list[Trigger] = []
    seen: set[str] = set()
    for f in files:
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise InputError(f"{f.name}: not valid YAML: {exc}") from None
        t = trigger_from_mapping(doc, f.name)
        if t.trigger_id in seen:
            raise InputError(f"{f.name}: trigger id {t.trigger_id!r} is used twice")
        seen.add(t.trigger_id)
        out.append(t)
    return out


def _decode(raw: Any) -> tuple[Any, str | None]:
    """A decoded document from bytes/str/mapping, or (None, reason)."""
    if isinstance(raw, bytes | bytearray):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None, "payload is not UTF-8"
    if isinstance(raw, str):
        try:
            return json.loads(raw), None
        except json.JSONDecodeError as exc:
            return None, f"payload is not JSON: {exc.msg}"
    return raw, None


def _payload_text(raw: Any) -> str:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw).decode("utf-8", "replace")
    if isinstance(raw, str):
        return raw
    try:
        return json.dumps(raw, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(raw)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands timestamps back naive; they were stored as UTC.
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=dt.UTC))


class TriggerService:
    """Event intake for one set of triggers and one contact policy."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        triggers: Sequence[Trigger] | None = None,
        policy: ContactPolicy | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.uow_factory = uow_factory
        self.triggers = list(load_triggers() if triggers is None else triggers)
        self.policy = policy or ContactPolicy()
        self.now = now

    # -- dead letters ----------------------------------------------------------------------
    def dead_letter(self, raw: Any, problems: list[str], source: str, event_id: str | None = None) -> Decision:
        """Keep an unprocessable payload with its reasons."""
        with self.uow_factory() as uow:
            assert uow.session is not None
            uow.session.add(DeadLetter(event_id=event_id, payload=_payload_text(raw)[:100_000],
                                       reason="; ".join(problems), source=source, received_at=self.now()))
            uow.commit()
        return Decision(event_id, "dead_letter", reason="; ".join(problems), problems=problems)

    def dead_letters(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            assert uow.session is not None
            rows = uow.session.scalars(select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)).all()
            return [{"id": r.id, "event_id": r.event_id, "reason": r.reason, "source": r.source,
                     "payload": r.payload} for r in rows]

    # -- the one use case ------------------------------------------------------------------
    def process_event(self, raw: Any, profile_lookup: ProfileLookup, source: str = "api") -> Decision:
        """Validate and act on one event exactly once (see the module docstring)."""
        doc, reason = _decode(raw)
        problems = [reason] if reason else event_problems(doc)
        if problems:
            eid = doc.get("event_id") if isinstance(doc, Mapping) and isinstance(doc.get("event_id"), str) else None
            return self.dead_letter(raw, problems, source, eid)
        event = parse_event(doc)
        profile = profile_lookup(event.subscriber_id)
        # A concurrent delivery of the same event (or a competing work order for the subscriber)
        # makes a commit fail on a unique key; the retry sees what won. SQLite refuses a second
        # writer outright ("database is locked") instead of waiting: back off and retry too.
        conflicts = 0
        for attempt in range(8):
            try:
                return self._process(event, profile, source)
            except IntegrityError:
                conflicts += 1
                if conflicts > 1:
                    raise
            except OperationalError as exc:
                if "locked" not in str(exc) or attempt == 7:
                    raise
                time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    def _process(self, event: Event, profile: Mapping[str, Any] | None, source: str) -> Decision:
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            done = s.scalars(select(ProcessedEvent).where(ProcessedEvent.event_id == event.event_id)).one_or_none()
            if done is not None:
                due = _aware(done.due_at)
                return Decision(event.event_id, done.decision, done.trigger_id, done.reason, done.work_order_id,
                                due.isoformat() if due else None, duplicate=True)
            try:
                trigger = next((t for t in self.triggers if t.enabled and t.matches(event, profile)), None)
            except Exception as exc:  # noqa: BLE001 - a condition that cannot be evaluated on this event
                trigger, problem = None, f"condition could not be evaluated: {exc}"
            else:
                problem = ""
            decision, reason, order_id, due_at = "no_match", problem or "no enabled trigger matched", None, None
            if trigger is not None:
                due_at = trigger.due_at(event)
                if trigger.is_control(event.subscriber_id):
                    decision, reason = "control", f"held out ({trigger.control_share:.0%} control share)"
                else:
                    blocked = self._policy_block(uow, event, trigger)
                    if blocked:
                        decision, reason = "suppressed", blocked
                    else:
                        order_id = self._create_order(uow, event, trigger, profile, due_at)
                        decision, reason = "selected", f"{trigger.name} ({event.type})"
            s.add(ProcessedEvent(
                event_id=event.event_id, subscriber_id=event.subscriber_id, event_type=event.type,
                occurred_at=event.occurred_at, attributes=dict(event.attributes), decision=decision,
                trigger_id=trigger.trigger_id if trigger else None, reason=reason, work_order_id=order_id,
                due_at=due_at, source=source, processed_at=self.now(),
            ))
            s.flush()
            uow.commit()
            return Decision(event.event_id, decision, trigger.trigger_id if trigger else None, reason, order_id,
                            due_at.isoformat() if due_at else None)

    def _policy_block(self, uow: UnitOfWork, event: Event, trigger: Trigger) -> str:
        """Why the contact policy forbids this contact; empty when it allows it."""
        s = uow.session
        assert s is not None
        sub, day = event.subscriber_id, event.occurred_at.date()
        dnd = s.scalars(select(ContactSuppression).where(
            ContactSuppression.subscriber_id == sub,
            ContactSuppression.channel.in_([trigger.channel, ALL_CHANNELS]),
        )).first()
        if dnd is not None:
            return f"{dnd.kind} on {dnd.channel}"
        contacts = s.scalars(select(ContactRecord).where(
            ContactRecord.subscriber_id == sub,
            ContactRecord.contact_date >= min(self.policy.window_start(day), self.policy.cooldown_start(day)),
            ContactRecord.contact_date < day,
        )).all()
        in_window = sum(1 for c in contacts if c.contact_date >= self.policy.window_start(day))
        if self.policy.is_capped(in_window):
            return f"contact cap ({in_window} contacts in {self.policy.window_days} days)"
        refusals = [c.contact_date for c in contacts if c.outcome in self.policy.refusal_outcomes]
        if self.policy.is_cooling_down(max(refusals, default=None), day):
            return f"cool-down after a refusal ({self.policy.cooldown_days} days)"
        open_orders = s.scalar(select(func.count()).select_from(WorkOrder).where(
            WorkOrder.month == event.month, WorkOrder.subscriber_id == sub))
        if open_orders:
            return f"already has a work order in {event.month}"
        return ""

    @staticmethod
    def _create_order(uow: UnitOfWork, event: Event, trigger: Trigger, profile: Mapping[str, Any] | None,
                      due_at: dt.datetime) -> int:
        profile = profile or {}
        customer = str(profile.get("customer_id") or event.subscriber_id)
        assignee = None
        if trigger.action == "work_order":
            owners = uow.assignments.owners_of(customer)
            assignee = owners[0] if owners else None
        order = WorkOrder(
            month=event.month, campaign_id=f"trigger:{trigger.trigger_id}", subscriber_id=event.subscriber_id,
            customer_id=customer, channel=trigger.channel, segment_id=profile.get("segment_id"),
            msisdn=profile.get("msisdn"), assignee_id=assignee, due_date=due_at.date(), expected_value=None,
            reason=f"{trigger.name} / {trigger.name_zh}: event {event.event_id} ({event.type})",
            warnings=[event.type], status="open", created_at=dt.datetime.now(dt.UTC),
        )
        uow.work_orders.add_all([order])
        return order.id

    # -- reading back ----------------------------------------------------------------------
    def decisions(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            assert uow.session is not None
            rows = uow.session.scalars(select(ProcessedEvent).order_by(ProcessedEvent.id.desc()).limit(limit)).all()
            return [{"event_id": r.event_id, "subscriber_id": r.subscriber_id, "type": r.event_type,
                     "decision": r.decision, "trigger_id": r.trigger_id, "reason": r.reason,
                     "work_order_id": r.work_order_id} for r in rows]


PROFILE_COLUMNS = ("subscriber_id", "customer_id", "msisdn", "stage", "is_core", "risk_decile", "segment_id")
"""Profile columns always read for the intake (the rest only when a trigger condition names them)."""


def warehouse_profiles(warehouse: Any, triggers: Sequence[Trigger] = ()) -> ProfileLookup:
    """A lookup over the latest month of ``profiles`` in the warehouse output (loaded on first use).

    Only :data:`PROFILE_COLUMNS`, ``pref_*`` and the columns the triggers' conditions name are
    held in memory, so a large operator's profiles fit.
    """
    cache: dict[str, dict[str, Any]] | None = None
    named = {w for t in triggers for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t.condition)}

    def lookup(subscriber_id: str) -> Mapping[str, Any] | None:
        nonlocal cache
        if cache is None:
            cache = {}
            months = warehouse.months("output", "profiles")
            if months:
                path = warehouse.path("profiles", months[-1], "output")
                names = pq.ParquetFile(path).schema_arrow.names
                keep = [c for c in names if c in PROFILE_COLUMNS or c.startswith("pref_") or c in named]
                table = warehouse.read_arrow("profiles", months[-1], "output", columns=keep)
                for row in table.to_pylist():
                    cache[str(row["subscriber_id"])] = row
        return cache.get(subscriber_id)

    return lookup
