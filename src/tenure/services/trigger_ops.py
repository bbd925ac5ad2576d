"""Trigger operations: live counts and latency per trigger, the last events, dead letters, pause and
resume a trigger, replay a dead letter after a fix.

Pausing is stored in ``trigger_states`` and read by the intake inside each batch's transaction, so it
takes effect in every process (API, JetStream consumers) from the next batch on. An event whose first
matching trigger is paused is recorded as ``suppressed`` with the reason ``trigger paused``: it is
not handed to a later trigger (a pause must not reroute customers to another action), and the
decision row says why nothing happened.

Replaying a dead letter submits its payload (or a corrected payload) through the normal intake
(:meth:`TriggerService.process_event`, source ``replay``). A successful replay is recorded once in
``dead_letter_replays`` (unique per dead letter) with who, when and the decision; replaying again
returns that record and does nothing. A payload that is still invalid stays a dead letter whose
reason becomes the new one. Every change is in the audit log.

``actor`` is a user name; ``None`` is the server's command line (recorded as ``system``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tenure.domain.errors import InputError, NotFound, PermissionDenied
from tenure.domain.events import event_problems
from tenure.domain.masking import mask_msisdn
from tenure.domain.roles import Permission, allows
from tenure.domain.triggers import Trigger
from tenure.engines.store.trigger_count_models import counts_since, minute_of, reason_key
from tenure.engines.store.trigger_models import DeadLetter, ProcessedEvent
from tenure.engines.store.trigger_ops_models import TRIGGER_PAUSED, DeadLetterReplay, TriggerState
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services import audit

VIEW_ROLES = frozenset({"administrator", "retention_manager", "analyst"})
"""Roles that may see the trigger operations (counts, events, dead letters)."""
OPERATE_ROLES = frozenset({"administrator", "retention_manager"})
"""Roles that may pause and resume triggers and replay dead letters."""

LATENCY_WINDOW = 1000
"""Latency percentiles are read over this many latest events (replays excluded)."""
REPLAY_SOURCE = "replay"
PAYLOAD_MAX = 100_000

_DIGITS = re.compile(r"\d{7,}[0-9Xx]?")


def mask_payload(text: str) -> str:
    """Phone- and ID-like digit runs in a raw payload kept only at their ends (``138****1234``)."""
    return _DIGITS.sub(lambda m: mask_msisdn(m.group()) or "", text)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (``q`` in 0..100); None when empty.

    >>> percentile([1, 2, 3, 4], 50)
    2
    >>> percentile([1, 2, 3, 4], 99)
    4
    """
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands timestamps back naive; they were stored as UTC.
    return None if t is None else (t if t.tzinfo else t.replace(tzinfo=dt.UTC))


def _iso(t: dt.datetime | None) -> str | None:
    t = _aware(t)
    return t.isoformat() if t else None


def _empty_counts() -> dict[str, Any]:
    return {"events": 0, "selected": 0, "control": 0, "suppressed": 0, "no_match": 0, "suppressed_by_reason": {}}


def _validate(text: str) -> tuple[Any, list[str]]:
    """The decoded payload and its problems (the intake's own checks, so a replay that passes here
    is not turned into a second dead letter)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"payload is not JSON: {exc.msg}"]
    problems = event_problems(doc)
    if not problems:
        from tenure.services import triggers as intake

        limit = getattr(intake, "SUBSCRIBER_ID_MAX", None)
        if limit is not None and len(doc["subscriber_id"]) > limit:
            problems = [f"subscriber_id is longer than {limit} characters"]
    return doc, problems


class TriggerOpsService:
    """Operations over one intake: ``intake()`` gives the trigger service and the profile lookup in force."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        intake: Callable[[], tuple[Any, Callable[[str], Mapping[str, Any] | None]]],
        pii_roles: Iterable[str] = ("administrator",),
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.uow_factory = uow_factory
        self.intake = intake
        self.pii_roles = tuple(pii_roles)
        self.now = now

    # -- who may --------------------------------------------------------------------------
    def _actor(self, uow: UnitOfWork, actor: str | None, roles: frozenset[str]) -> tuple[str, bool]:
        """(name for the audit log, may see phone numbers); refuses users outside ``roles``."""
        if actor is None:
            return "system", True
        user = uow.users.by_name(actor)
        if user is None or not user.active:
            raise NotFound(f"no active user {actor!r}")
        if user.role not in roles:
            what = "see the trigger operations" if roles is VIEW_ROLES else "pause, resume or replay triggers"
            raise PermissionDenied(f"{actor} ({user.role}) may not {what}")
        return actor, allows(user.role, Permission.SEE_PII, self.pii_roles)

    def check(self, actor: str | None, operate: bool = False) -> None:
        """Raise PermissionDenied unless ``actor`` may see (or, with ``operate``, change) trigger operations."""
        with self.uow_factory() as uow:
            self._actor(uow, actor, OPERATE_ROLES if operate else VIEW_ROLES)

    def triggers(self) -> list[Trigger]:
        return list(self.intake()[0].triggers)

    def _trigger(self, trigger_id: str) -> Trigger:
        for t in self.triggers():
            if t.trigger_id == trigger_id:
                return t
        raise NotFound(f"no trigger {trigger_id!r}")

    # -- reading --------------------------------------------------------------------------
    def status(self, actor: str | None, latency_window: int = LATENCY_WINDOW) -> dict[str, Any]:
        """Every trigger with its state, counts (last hour, today UTC) and latency; totals; dead letters."""
        now = self.now()
        hour_start = now - dt.timedelta(hours=1)
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        triggers = self.triggers()
        with self.uow_factory() as uow:
            self._actor(uow, actor, VIEW_ROLES)
            s = uow.session
            assert s is not None
            states = {r.trigger_id: self._state(r, changed=False) for r in s.scalars(select(TriggerState)).all()}
            windows = self._windows(s, hour_start, day_start)
            latency = self._latency(s, latency_window)
            dead = self._dead_letter_counts(s, hour_start, day_start)
        rows = []
        for t in triggers:
            st = states.get(t.trigger_id) or {"paused": False}
            rows.append({
                **t.to_dict(), "trigger_id": t.trigger_id, "channel": t.channel, "paused": st["paused"],
                "paused_by": st.get("paused_by"), "paused_at": st.get("paused_at"), "note": st.get("note", ""),
                "hour": windows["hour"]["triggers"].get(t.trigger_id, _empty_counts()),
                "today": windows["today"]["triggers"].get(t.trigger_id, _empty_counts()),
                "unmatched_of_type": {w: windows[w]["no_match_by_type"].get(t.event_type, 0) for w in windows},
                "latency": latency["triggers"].get(t.trigger_id, latency["empty"]),
            })
        return {"at": now.isoformat(), "day_start": day_start.isoformat(), "triggers": rows,
                "totals": {w: windows[w]["totals"] for w in windows}, "latency": latency["all"],
                "latency_window": latency_window, "dead_letters": dead}

    @classmethod
    def _windows(cls, s: Any, hour_start: dt.datetime, day_start: dt.datetime) -> dict[str, dict[str, Any]]:
        """Counts of the last hour and of today from the intake's per-minute counters.

        The counters (``trigger_event_counts``) are kept by the intake in each batch's transaction,
        so this reads at most a few rows per trigger and minute, whatever the day's volume. A
        window starts at the whole minute holding its start (the last hour is 60–61 minutes).
        """
        hour_from, day_from = minute_of(hour_start), minute_of(day_start)
        if hour_from >= day_from:  # the last hour lies within today
            rows = counts_since(s, day_from, hour_from)
            return {"hour": cls._tally([r[1:] for r in rows if r[0]]), "today": cls._tally([r[1:] for r in rows])}
        rows = counts_since(s, hour_from, day_from)  # just after midnight: today lies within the last hour
        return {"hour": cls._tally([r[1:] for r in rows]), "today": cls._tally([r[1:] for r in rows if r[0]])}

    @staticmethod
    def _tally(rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
        per: dict[str, dict[str, Any]] = {}
        totals = _empty_counts()
        no_match_by_type: dict[str, int] = {}
        for trigger_id, event_type, decision, reason, n in rows:
            targets = [totals] + ([per.setdefault(trigger_id, _empty_counts())] if trigger_id else [])
            for c in targets:
                c["events"] += n
                if decision in c:
                    c[decision] += n
                if decision == "suppressed":
                    key = reason or "unknown"
                    c["suppressed_by_reason"][key] = c["suppressed_by_reason"].get(key, 0) + n
            if decision == "no_match":
                no_match_by_type[event_type] = no_match_by_type.get(event_type, 0) + n
        return {"triggers": per, "totals": totals, "no_match_by_type": no_match_by_type}

    @staticmethod
    def _latency(s: Any, window: int) -> dict[str, Any]:
        """processed_at − occurred_at in milliseconds, p50/p95/p99 over the latest ``window`` events."""
        rows = s.execute(
            select(ProcessedEvent.trigger_id, ProcessedEvent.occurred_at, ProcessedEvent.processed_at)
            .where(ProcessedEvent.source != REPLAY_SOURCE)
            .order_by(ProcessedEvent.id.desc()).limit(max(1, window))
        ).all()
        everything: list[float] = []
        by: dict[str, list[float]] = {}
        for trigger_id, occurred, processed in rows:
            ms = (_aware(processed) - _aware(occurred)).total_seconds() * 1000  # type: ignore[operator]
            everything.append(ms)
            if trigger_id is not None:
                by.setdefault(trigger_id, []).append(ms)

        def summary(values: list[float]) -> dict[str, Any]:
            ordered = sorted(values)
            return {"n": len(ordered), **{f"p{q}": (round(v, 1) if (v := percentile(ordered, q)) is not None else None)
                                          for q in (50, 95, 99)}}

        return {"all": summary(everything), "empty": summary([]), "triggers": {k: summary(v) for k, v in by.items()}}

    @staticmethod
    def _dead_letter_counts(s: Any, hour_start: dt.datetime, day_start: dt.datetime) -> dict[str, int]:
        def count(*where: Any) -> int:
            return int(s.scalar(select(func.count()).select_from(DeadLetter).where(*where)) or 0)

        replayed = int(s.scalar(select(func.count()).select_from(DeadLetterReplay)) or 0)
        total = count()
        return {"total": total, "replayed": replayed, "open": total - replayed,
                "hour": count(DeadLetter.received_at >= hour_start), "today": count(DeadLetter.received_at >= day_start)}

    def last_events(self, actor: str | None, trigger_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest processed events, newest first (only ``trigger_id``'s when given)."""
        limit = max(1, min(int(limit), 500))
        with self.uow_factory() as uow:
            self._actor(uow, actor, VIEW_ROLES)
            s = uow.session
            assert s is not None
            q = select(ProcessedEvent).order_by(ProcessedEvent.id.desc()).limit(limit)
            if trigger_id is not None:
                q = q.where(ProcessedEvent.trigger_id == trigger_id)
            out = []
            for r in s.scalars(q).all():
                occurred, processed = _aware(r.occurred_at), _aware(r.processed_at)
                out.append({
                    "event_id": r.event_id, "subscriber_id": r.subscriber_id, "type": r.event_type,
                    "decision": r.decision, "trigger_id": r.trigger_id, "reason": r.reason,
                    "work_order_id": r.work_order_id, "source": r.source, "occurred_at": _iso(occurred),
                    "processed_at": _iso(processed),
                    "latency_ms": round((processed - occurred).total_seconds() * 1000, 1)  # type: ignore[operator]
                    if occurred and processed else None,
                })
            return out

    def dead_letters(self, actor: str | None, limit: int = 50, include_replayed: bool = True) -> dict[str, Any]:
        """Dead letters, newest first, with their replay when there is one; payloads masked by role."""
        limit = max(1, min(int(limit), 500))
        with self.uow_factory() as uow:
            _, see_pii = self._actor(uow, actor, VIEW_ROLES)
            s = uow.session
            assert s is not None
            q = (select(DeadLetter, DeadLetterReplay)
                 .outerjoin(DeadLetterReplay, DeadLetterReplay.dead_letter_id == DeadLetter.id)
                 .order_by(DeadLetter.id.desc()).limit(limit))
            if not include_replayed:
                q = q.where(DeadLetterReplay.id.is_(None))
            items = [self._letter(d, r, see_pii) for d, r in s.execute(q).all()]
            total = int(s.scalar(select(func.count()).select_from(DeadLetter)) or 0)
            replayed = int(s.scalar(select(func.count()).select_from(DeadLetterReplay)) or 0)
        return {"total": total, "open": total - replayed, "replayed": replayed, "items": items}

    @staticmethod
    def _letter(d: DeadLetter, r: DeadLetterReplay | None, see_pii: bool) -> dict[str, Any]:
        payload = d.payload if see_pii else mask_payload(d.payload)
        return {"id": d.id, "event_id": d.event_id, "reason": d.reason, "source": d.source,
                "received_at": _iso(d.received_at), "payload": payload, "replayed": r is not None,
                "replay": None if r is None else {
                    "event_id": r.event_id, "decision": r.decision, "trigger_id": r.trigger_id,
                    "work_order_id": r.work_order_id, "duplicate": r.duplicate, "replayed_by": r.replayed_by,
                    "replayed_at": _iso(r.replayed_at)}}

    # -- pause and resume -------------------------------------------------------------------
    def pause(self, actor: str | None, trigger_id: str, note: str = "") -> dict[str, Any]:
        """Pause ``trigger_id`` (idempotent: pausing a paused trigger changes nothing)."""
        self._trigger(trigger_id)
        note = (note or "").strip()[:2000]
        with self.uow_factory() as uow:
            who, _ = self._actor(uow, actor, OPERATE_ROLES)
            s = uow.session
            assert s is not None
            st = s.get(TriggerState, trigger_id)
            if st is not None and st.paused:
                return self._state(st, changed=False)
            before = self._state(st, changed=False) if st else {"trigger_id": trigger_id, "paused": False}
            if st is None:
                st = TriggerState(trigger_id=trigger_id)
                s.add(st)
            st.paused, st.paused_by, st.paused_at, st.note = True, who, self.now(), note
            s.flush()
            after = self._state(st, changed=True)
            audit.record(uow, who, "trigger.pause", "trigger", trigger_id, before, after)
            try:
                uow.commit()
            except IntegrityError:  # paused at the same moment by someone else: that pause stands
                return {"trigger_id": trigger_id, "paused": True, "changed": False}
            return after

    def resume(self, actor: str | None, trigger_id: str) -> dict[str, Any]:
        """Resume ``trigger_id`` (idempotent: resuming a running trigger changes nothing)."""
        self._trigger(trigger_id)
        with self.uow_factory() as uow:
            who, _ = self._actor(uow, actor, OPERATE_ROLES)
            s = uow.session
            assert s is not None
            st = s.get(TriggerState, trigger_id)
            if st is None or not st.paused:
                return {"trigger_id": trigger_id, "paused": False, "paused_by": None, "paused_at": None,
                        "note": "", "changed": False}
            before = self._state(st, changed=False)
            st.paused, st.paused_by, st.paused_at, st.note = False, None, None, ""
            s.flush()
            after = self._state(st, changed=True)
            audit.record(uow, who, "trigger.resume", "trigger", trigger_id, before, after)
            uow.commit()
            return after

    @staticmethod
    def _state(st: TriggerState, changed: bool) -> dict[str, Any]:
        return {"trigger_id": st.trigger_id, "paused": bool(st.paused), "paused_by": st.paused_by,
                "paused_at": _iso(st.paused_at), "note": st.note or "", "changed": changed}

    # -- replay -------------------------------------------------------------------------------
    def replay(self, actor: str | None, dead_letter_id: int, payload: str | None = None) -> dict[str, Any]:
        """Submit dead letter ``dead_letter_id`` again through the intake (``payload`` replaces its text).

        Returns ``{"replayed": bool, "already_replayed": bool, "dead_letter": {...}, "decision": {...}}``.
        """
        if payload is not None and len(payload) > PAYLOAD_MAX:
            raise InputError(f"the corrected payload is longer than {PAYLOAD_MAX} characters")
        with self.uow_factory() as uow:
            who, see_pii = self._actor(uow, actor, OPERATE_ROLES)
            s = uow.session
            assert s is not None
            letter = s.get(DeadLetter, dead_letter_id)
            if letter is None:
                raise NotFound(f"no dead letter {dead_letter_id}")
            done = s.scalars(select(DeadLetterReplay).where(DeadLetterReplay.dead_letter_id == dead_letter_id)
                             ).one_or_none()
            if done is not None:
                return {"replayed": True, "already_replayed": True, "dead_letter": self._letter(letter, done, see_pii),
                        "decision": None}
            text = letter.payload if payload is None else payload
        doc, problems = _validate(text)
        if problems:
            return self._still_bad(who, see_pii, dead_letter_id, problems, corrected=payload is not None)
        svc, lookup = self.intake()
        decision = svc.process_event(doc, lookup, source=REPLAY_SOURCE)
        if decision.decision == "dead_letter":  # a check of the intake this module does not know
            self._drop_new_letter(text)
            return self._still_bad(who, see_pii, dead_letter_id, decision.problems or [decision.reason],
                                   corrected=payload is not None)
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            letter = s.get(DeadLetter, dead_letter_id)
            assert letter is not None
            rec = DeadLetterReplay(dead_letter_id=dead_letter_id, event_id=str(decision.event_id),
                                   decision=decision.decision, trigger_id=decision.trigger_id,
                                   work_order_id=decision.work_order_id, duplicate=decision.duplicate,
                                   replayed_by=who, replayed_at=self.now())
            s.add(rec)
            audit.record(uow, who, "dead_letter.replay", "dead_letter", str(dead_letter_id),
                         {"reason": letter.reason, "replayed": False},
                         {"replayed": True, "corrected_payload": payload is not None, **decision.to_dict()})
            try:
                s.flush()
                uow.commit()
            except IntegrityError:  # replayed at the same moment by someone else; the intake acted once
                uow.rollback()
                rec = s.scalars(select(DeadLetterReplay).where(
                    DeadLetterReplay.dead_letter_id == dead_letter_id)).one()
                return {"replayed": True, "already_replayed": True,
                        "dead_letter": self._letter(letter, rec, see_pii), "decision": None}
            return {"replayed": True, "already_replayed": False, "dead_letter": self._letter(letter, rec, see_pii),
                    "decision": decision.to_dict()}

    def _still_bad(self, who: str, see_pii: bool, dead_letter_id: int, problems: list[str],
                   corrected: bool) -> dict[str, Any]:
        """The dead letter stays, with the new reason; its original payload is kept."""
        reason = "; ".join(problems)
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            letter = s.get(DeadLetter, dead_letter_id)
            assert letter is not None
            before = letter.reason
            letter.reason = reason
            audit.record(uow, who, "dead_letter.replay_failed", "dead_letter", str(dead_letter_id),
                         {"reason": before}, {"reason": reason, "corrected_payload": corrected})
            uow.commit()
            return {"replayed": False, "already_replayed": False, "dead_letter": self._letter(letter, None, see_pii),
                    "decision": {"decision": "dead_letter", "reason": reason, "problems": problems}}

    def _drop_new_letter(self, text: str) -> None:
        """Remove the dead letter the intake just wrote for a replay (the original one is kept)."""
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            newest = s.scalars(select(DeadLetter).where(DeadLetter.source == REPLAY_SOURCE)
                               .order_by(DeadLetter.id.desc()).limit(1)).one_or_none()
            if newest is not None and newest.payload == text[:PAYLOAD_MAX]:
                s.delete(newest)
                uow.commit()


__all__ = ["OPERATE_ROLES", "TRIGGER_PAUSED", "VIEW_ROLES", "TriggerOpsService", "mask_payload", "percentile",
           "reason_key"]
