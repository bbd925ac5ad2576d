"""Moments of truth: act on events as they arrive, exactly once.

``process_batch`` validates a batch of events (one pull from the bus), and
in ONE unit of work: finds which event ids were processed before
(``processed_events`` is unique on them), and for each new event, in order,
finds the first enabled trigger whose condition holds, holds the subscriber
out when the (subscriber, trigger) draw falls in the control share, applies
the contact policy (do-not-disturb / opt-out, contact cap, cool-down after a
refusal, one work order per subscriber and month), writes the decision and
creates the work order; then commits once. A redelivered event therefore
never creates a second work order: either the first delivery's transaction
committed (and the redelivery finds its row) or it did not (and nothing of
it exists). Invalid events become dead letters with their reasons.
``process_event`` is a batch of one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import pyarrow.parquet as pq
import yaml
from sqlalchemy import String, Table, any_, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from tenure.domain.contact_policy import ALL_CHANNELS, ContactPolicy
from tenure.domain.errors import InputError
from tenure.domain.events import Event, event_problems, parse_event
from tenure.domain.triggers import Trigger, trigger_from_mapping
from tenure.engines.store.campaign_models import ContactRecord, ContactSuppression, WorkOrder
from tenure.engines.store.trigger_count_models import add_counts, count_key
from tenure.engines.store.trigger_models import DeadLetter, ProcessedEvent
from tenure.engines.store.trigger_ops_models import TRIGGER_PAUSED, paused_trigger_ids
from tenure.engines.store.unit_of_work import UnitOfWork

SHIPPED_TRIGGERS = Path(__file__).resolve().parent.parent / "triggers"
"""The example triggers shipped with Tenure."""

ProfileLookup = Callable[[str], Mapping[str, Any] | None]
"""subscriber_id -> the subscriber's latest profile row (None when unknown)."""

DECISIONS = ("selected", "control", "suppressed", "no_match", "dead_letter")
LEFT_THE_NETWORK = "left the network"
"""Why an event of a subscriber whose latest profile says churned gets no work order."""
SUBSCRIBER_ID_MAX = 64
"""The store keeps subscriber ids of up to 64 characters; a longer one is a dead letter, not a failed batch."""
_CHUNK = 900
"""Ids per IN (...) list of the batch lookups."""
# The tables themselves, for Core bulk inserts (the ORM would insert a batch row by row).
_WORK_ORDERS = cast(Table, WorkOrder.__table__)
_PROCESSED_EVENTS = cast(Table, ProcessedEvent.__table__)
_DEAD_LETTERS = cast(Table, DeadLetter.__table__)


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


def _chunks(values: Iterable[str]) -> list[list[str]]:
    vs = sorted(set(values))
    return [vs[i:i + _CHUNK] for i in range(0, len(vs), _CHUNK)]


_INSERTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[str], list[Any], bool]] = {}
"""(dialect, table, columns) -> the compiled INSERT, its parameter order, bind processors, positional."""


def _insert_many(s: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys): one prepared executemany on SQLite, one
    ``INSERT ... SELECT * FROM unnest(<one array per column>)`` on PostgreSQL.

    The statement is compiled once per (dialect, table, columns) and each value goes through its
    column type's own bind processor (so stored values are those a Core insert would store), but the
    per-row parameter building of a Core executemany, most of the intake's CPU, is skipped. On
    PostgreSQL, where the driver's executemany sends one INSERT per row, one statement for the batch
    costs the client and the server a fraction of the CPU.
    """
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    key = (dialect.name, table.name, tuple(rows[0]))
    plan = _INSERTS.get(key)
    if plan is None:
        compiled = insert(table).values({c: bindparam(c) for c in key[2]}).compile(dialect=dialect)
        order = list(compiled.positiontup or []) if compiled.positional else list(key[2])
        procs = [table.c[c].type._cached_bind_processor(dialect) for c in order]
        plan = _INSERTS[key] = (str(compiled), order, procs, bool(compiled.positional))
    sql, order, procs, positional = plan
    pairs = list(zip(order, procs, strict=True))
    if dialect.name == "postgresql":
        # One array per column, unnested into rows: one short statement (prepared once by the
        # driver) however many rows, where the driver's executemany would send one INSERT per row.
        quote = dialect.identifier_preparer.quote
        arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=dialect)}[]" for c in order)
        sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({', '.join(map(quote, order))}) "
               f"SELECT * FROM unnest({arrays})")
        conn.exec_driver_sql(sql, tuple([p(r[c]) if p else r[c] for r in rows] for c, p in pairs))
        return
    if positional:
        params: list[Any] = [tuple(p(r[c]) if p else r[c] for c, p in pairs) for r in rows]
    else:
        params = [{c: (p(r[c]) if p else r[c]) for c, p in pairs} for r in rows]
    conn.exec_driver_sql(sql, params)


def _among(s: Session, column: Any, values: Sequence[str]) -> Any:
    """``column IN values`` with ONE bound parameter: an array on PostgreSQL, a JSON list read with
    ``json_each`` on SQLite. Both use the column's index; neither makes the statement's text (and
    its compilation, most of a lookup's CPU for 500 ids) grow with the list."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
    if dialect == "sqlite":
        each = func.json_each(bindparam(None, json.dumps(list(values)), type_=String)).table_valued("value")
        return column.in_(select(each.c.value))
    return column.in_(list(values))


@dataclass
class _BatchState:
    """What the store knows about a batch's events and subscribers, read once, then updated in memory."""

    done: dict[str, Decision]
    """Event ids processed before this batch -> their recorded decision (``duplicate`` set)."""
    suppressions: dict[str, list[tuple[str, str]]]
    """subscriber -> (kind, channel) of its do-not-disturb / opt-out entries."""
    contacts: dict[str, list[tuple[dt.date, str | None]]]
    """subscriber -> (date, outcome) of its contacts in the policy's look-back."""
    orders: dict[tuple[str, str], str]
    """(month, subscriber) -> campaign id of the month's work order (``trigger:<id>`` for a trigger's)."""

    @classmethod
    def load(cls, s: Session, events: Sequence[Event], policy: ContactPolicy) -> _BatchState:
        state = cls({}, {}, {}, {})
        if not events:
            return state
        if s.get_bind().dialect.name == "postgresql":
            # The client prepares a statement run often; PostgreSQL may then keep a generic plan
            # made while the tables were small (a sequential scan) as they grow to millions of
            # rows: each batch's IN (...) lookups would scan the whole table. Plan them each time.
            s.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        for ids in _chunks(e.event_id for e in events):
            for r in s.scalars(select(ProcessedEvent).where(_among(s, ProcessedEvent.event_id, ids))):
                due = _aware(r.due_at)
                state.done[r.event_id] = Decision(r.event_id, r.decision, r.trigger_id, r.reason, r.work_order_id,
                                                  due.isoformat() if due else None, duplicate=True)
        todo = [e for e in events if e.event_id not in state.done]
        if not todo:
            return state
        days = [e.occurred_at.date() for e in todo]
        since = min(min(policy.window_start(d), policy.cooldown_start(d)) for d in days)
        months = sorted({e.month for e in todo})
        for subs in _chunks(e.subscriber_id for e in todo):
            for sub, kind, channel in s.execute(select(
                    ContactSuppression.subscriber_id, ContactSuppression.kind, ContactSuppression.channel,
            ).where(_among(s, ContactSuppression.subscriber_id, subs)).order_by(ContactSuppression.id)):
                state.suppressions.setdefault(sub, []).append((kind, channel))
            for sub, day, outcome in s.execute(select(
                    ContactRecord.subscriber_id, ContactRecord.contact_date, ContactRecord.outcome,
            ).where(_among(s, ContactRecord.subscriber_id, subs), ContactRecord.contact_date >= since,
                    ContactRecord.contact_date < max(days))):
                state.contacts.setdefault(sub, []).append((day, outcome))
            for month, sub, campaign in s.execute(select(
                    WorkOrder.month, WorkOrder.subscriber_id, WorkOrder.campaign_id,
            ).where(_among(s, WorkOrder.subscriber_id, subs), WorkOrder.month.in_(months))):
                state.orders[(month, sub)] = campaign
        return state

    def policy_block(self, event: Event, trigger: Trigger, policy: ContactPolicy) -> str:
        """Why the contact policy forbids this contact; empty when it allows it."""
        sub, day = event.subscriber_id, event.occurred_at.date()
        for kind, channel in self.suppressions.get(sub, ()):
            if channel in (trigger.channel, ALL_CHANNELS):
                return f"{kind} on {channel}"
        window, cooling = policy.window_start(day), policy.cooldown_start(day)
        contacts = [(d, o) for d, o in self.contacts.get(sub, ()) if min(window, cooling) <= d < day]
        in_window = sum(1 for d, _ in contacts if d >= window)
        if policy.is_capped(in_window):
            return f"contact cap ({in_window} contacts in {policy.window_days} days)"
        refusals = [d for d, o in contacts if o in policy.refusal_outcomes]
        if policy.is_cooling_down(max(refusals, default=None), day):
            return f"cool-down after a refusal ({policy.cooldown_days} days)"
        campaign = self.orders.get((event.month, sub))
        if campaign is not None:
            return f"already has a work order in {event.month} ({campaign})"
        return ""


def _order_row(event: Event, trigger: Trigger, profile: Mapping[str, Any] | None, due_at: dt.datetime,
               now: dt.datetime) -> dict[str, Any]:
    profile = profile or {}
    return {
        "month": event.month, "campaign_id": trigger.campaign_id, "subscriber_id": event.subscriber_id,
        "customer_id": str(profile.get("customer_id") or event.subscriber_id), "channel": trigger.channel,
        "segment_id": profile.get("segment_id"), "msisdn": profile.get("msisdn"), "assignee_id": None,
        "due_date": due_at.date(), "expected_value": None,
        "reason": f"{trigger.name} / {trigger.name_zh}: event {event.event_id} ({event.type})",
        "warnings": [event.type], "status": "open", "created_at": now,
    }


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
        """Validate and act on one event exactly once: a batch of one (see :meth:`process_batch`)."""
        return self.process_batch([raw], profile_lookup, source)[0]

    def process_batch(self, raws: Sequence[Any], profile_lookup: ProfileLookup, source: str = "nats") -> list[Decision]:
        """Validate and act on a batch of events exactly once, in order, in ONE unit of work.

        Returns one :class:`Decision` per payload, in the payloads' order. The
        batch's processed event ids, suppressions, contacts and work orders are
        read with one query each; the events are then decided in order against
        that state held in memory, so two events of one subscriber in the same
        batch see each other (the second finds the first's work order); an
        event id repeated inside the batch is a duplicate of its first copy.
        Work orders, decision rows and dead letters are inserted in bulk and
        committed once: a crash before the commit leaves nothing, a crash after
        it leaves rows the redelivered batch finds.
        """
        slots: list[Event | Decision] = []
        letters: list[dict[str, Any]] = []
        received = self.now()
        for raw in raws:
            doc, reason = _decode(raw)
            problems = [reason] if reason else []
            event: Event | None = None
            if not problems:
                try:
                    event = parse_event(doc)  # validates; the reasons are listed only for a bad one
                except InputError:
                    problems = event_problems(doc)
            if event is not None and len(event.subscriber_id) > SUBSCRIBER_ID_MAX:
                problems = [f"subscriber_id is longer than {SUBSCRIBER_ID_MAX} characters"]
            if problems or event is None:
                eid = doc.get("event_id") if isinstance(doc, Mapping) and isinstance(doc.get("event_id"), str) else None
                letters.append({"event_id": eid, "payload": _payload_text(raw)[:100_000],
                                "reason": "; ".join(problems), "source": source, "received_at": received})
                slots.append(Decision(eid, "dead_letter", reason="; ".join(problems), problems=problems))
            else:
                slots.append(event)
        profiles: dict[str, Mapping[str, Any] | None] = {}
        for e in slots:
            if isinstance(e, Event) and e.subscriber_id not in profiles:
                profiles[e.subscriber_id] = profile_lookup(e.subscriber_id)
        # A concurrent delivery of the same event (or a competing work order for the subscriber)
        # makes the commit fail on a unique key; the retry reads the state again and sees what won.
        # SQLite refuses a second writer outright ("database is locked") instead of waiting: back off.
        conflicts = 0
        for attempt in range(8):
            try:
                return self._process_batch(slots, letters, profiles, source)
            except IntegrityError:
                conflicts += 1
                if conflicts > 3:
                    raise
            except OperationalError as exc:
                if "locked" not in str(exc) or attempt == 7:
                    raise
                time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    def match(self, event: Event, profile: Mapping[str, Any] | None) -> Trigger | None:
        """THE place where an event meets the triggers: the first enabled trigger whose condition holds."""
        return next((t for t in self.triggers if t.enabled and t.matches(event, profile)), None)

    def _process_batch(self, slots: Sequence[Event | Decision], letters: list[dict[str, Any]],
                       profiles: Mapping[str, Mapping[str, Any] | None], source: str) -> list[Decision]:
        events = [e for e in slots if isinstance(e, Event)]
        now = self.now()
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            state = _BatchState.load(s, events, self.policy)
            paused = paused_trigger_ids(s) if events else frozenset()  # see services/trigger_ops.py
            first: dict[str, Decision] = {}  # event id -> its decision in this batch
            rows: list[dict[str, Any]] = []  # processed_events rows
            orders: list[tuple[dict[str, Any], str, Decision, dict[str, Any]]] = []  # (order, action, decision, row)
            for e in events:
                if e.event_id in state.done or e.event_id in first:
                    continue
                profile = profiles.get(e.subscriber_id)
                try:
                    trigger = self.match(e, profile)
                except Exception as exc:  # noqa: BLE001 - a condition that cannot be evaluated on this event
                    trigger, problem = None, f"condition could not be evaluated: {exc}"
                else:
                    problem = ""
                d = Decision(e.event_id, "no_match", reason=problem or "no enabled trigger matched")
                due_at = None
                order: dict[str, Any] | None = None
                if trigger is not None:
                    due_at = trigger.due_at(e)
                    d.trigger_id, d.due_at = trigger.trigger_id, due_at.isoformat()
                    if (profile or {}).get("status") == "churned":
                        # Gone by the latest profiled month: no call, and no place in a control group.
                        d.decision, d.reason = "suppressed", LEFT_THE_NETWORK
                    elif trigger.trigger_id in paused:
                        d.decision, d.reason = "suppressed", TRIGGER_PAUSED
                    elif trigger.is_control(e.subscriber_id):
                        d.decision, d.reason = "control", f"held out ({trigger.control_share:.0%} control share)"
                    elif blocked := state.policy_block(e, trigger, self.policy):
                        d.decision, d.reason = "suppressed", blocked
                    else:
                        d.decision, d.reason = "selected", f"{trigger.name} ({e.type})"
                        order = _order_row(e, trigger, profile, due_at, now)
                        state.orders[(e.month, e.subscriber_id)] = order["campaign_id"]
                first[e.event_id] = d
                # Times in UTC: SQLite keeps a time's wall clock and drops its offset.
                row = {"event_id": e.event_id, "subscriber_id": e.subscriber_id, "event_type": e.type,
                       "occurred_at": e.occurred_at.astimezone(dt.UTC), "attributes": dict(e.attributes),
                       "decision": d.decision, "trigger_id": d.trigger_id, "reason": d.reason, "work_order_id": None,
                       "due_at": None if due_at is None else due_at.astimezone(dt.UTC),
                       "source": source, "processed_at": now}
                rows.append(row)
                if order is not None and trigger is not None:
                    orders.append((order, trigger.action, d, row))
            if orders:
                self._assign(uow, [(o, action) for o, action, _, _ in orders])
                # A Core executemany (the ORM would insert row by row, and RETURNING over many rows
                # is several times slower on PostgreSQL); the new ids are read back on
                # (month, subscriber), the store's unique key, in one query.
                _insert_many(s, _WORK_ORDERS, [o for o, _, _, _ in orders])
                ids: dict[tuple[str, str], int] = {}
                for subs in _chunks(o["subscriber_id"] for o, _, _, _ in orders):
                    ids.update({(m, sub): i for i, m, sub in s.execute(
                        select(WorkOrder.id, WorkOrder.month, WorkOrder.subscriber_id).where(
                            _among(s, WorkOrder.subscriber_id, subs),
                            WorkOrder.month.in_({o["month"] for o, _, _, _ in orders})))})
                for o, _, d, row in orders:
                    d.work_order_id = row["work_order_id"] = int(ids[(o["month"], o["subscriber_id"])])
            if rows:
                _insert_many(s, _PROCESSED_EVENTS, rows)
                # The live counters move in the same transaction: counted exactly when committed.
                tally: dict[tuple[int, str, str, str, str], int] = {}
                for r in rows:
                    k = count_key(now, r["trigger_id"], r["event_type"], r["decision"], r["reason"])
                    tally[k] = tally.get(k, 0) + 1
                add_counts(s, tally)
            if letters:
                _insert_many(s, _DEAD_LETTERS, letters)
            uow.commit()
        out: list[Decision] = []
        emitted: set[str] = set()
        for slot in slots:
            if isinstance(slot, Decision):
                out.append(slot)
            elif slot.event_id in state.done:
                out.append(state.done[slot.event_id])
            else:
                # Only the first copy of an id acts; later copies in the batch are duplicates of it.
                d = first[slot.event_id]
                out.append(replace(d, duplicate=True) if slot.event_id in emitted else d)
                emitted.add(slot.event_id)
        return out

    @staticmethod
    def _assign(uow: UnitOfWork, orders: list[tuple[dict[str, Any], str]]) -> None:
        """Work orders of the ``work_order`` action go to the customer's account manager (one query)."""
        customers = {o["customer_id"] for o, action in orders if action == "work_order"}
        owners = uow.work_orders.portfolio_owners(customers, role="account_manager") if customers else {}
        for o, action in orders:
            o["assignee_id"] = owners.get(o["customer_id"]) if action == "work_order" else None

    # -- reading back ----------------------------------------------------------------------
    def decisions(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            assert uow.session is not None
            rows = uow.session.scalars(select(ProcessedEvent).order_by(ProcessedEvent.id.desc()).limit(limit)).all()
            return [{"event_id": r.event_id, "subscriber_id": r.subscriber_id, "type": r.event_type,
                     "decision": r.decision, "trigger_id": r.trigger_id, "reason": r.reason,
                     "work_order_id": r.work_order_id} for r in rows]


PROFILE_COLUMNS = ("subscriber_id", "customer_id", "msisdn", "status", "stage", "is_core", "risk_decile", "segment_id")
"""Profile columns always read for the intake (the rest only when a trigger condition names them)."""


def warehouse_profiles(warehouse: Any, triggers: Sequence[Trigger] = (), refresh_seconds: float = 60.0) -> ProfileLookup:
    """A lookup over the latest month of ``profiles`` in the warehouse output, read once and cached.

    Only :data:`PROFILE_COLUMNS`, ``pref_*`` and the columns the triggers' conditions name are
    read, and they stay Arrow columns with one dict from subscriber id to row position, so a
    large operator's profiles fit and a lookup costs one dict hit. At most every
    ``refresh_seconds`` the lookup checks whether a newer month has been profiled and then
    reads that one instead (a long-running consumer follows the monthly cycle).
    """
    named = {w for t in triggers for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t.condition)}
    held: dict[str, Any] = {"month": None, "checked": None, "index": {}, "columns": {}}

    def load(month: str) -> None:
        path = warehouse.path("profiles", month, "output")
        names = pq.ParquetFile(path).schema_arrow.names
        keep = [c for c in names if c in PROFILE_COLUMNS or c.startswith("pref_") or c in named]
        table = warehouse.read_arrow("profiles", month, "output", columns=keep)
        ids = [str(v) for v in table.column("subscriber_id").to_pylist()]
        held["index"] = dict(zip(ids, range(len(ids)), strict=True))
        held["columns"] = {c: table.column(c) for c in keep}

    def lookup(subscriber_id: str) -> Mapping[str, Any] | None:
        clock = time.monotonic()
        if held["checked"] is None or clock - held["checked"] >= refresh_seconds:
            held["checked"] = clock
            months = warehouse.months("output", "profiles")
            latest = months[-1] if months else None
            if latest != held["month"]:
                if latest is None:
                    held["index"], held["columns"] = {}, {}
                else:
                    load(latest)
                held["month"] = latest
        i = held["index"].get(subscriber_id)
        if i is None:
            return None
        return {c: col[i].as_py() for c, col in held["columns"].items()}

    return lookup
