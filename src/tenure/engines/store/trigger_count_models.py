"""Live counts of the event intake: events per (minute, trigger, event type, decision, reason), kept by
the intake in the same transaction as the batch, so the operations page reads a few thousand counter
rows a day instead of counting millions of ``processed_events``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Integer, String, Table, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenure.engines.store.models import Base

REASON_MAX = 128


def reason_key(reason: str) -> str:
    """A suppression reason without its figures: ``contact cap (3 contacts in 30 days)`` -> ``contact cap``."""
    key = re.sub(r"\s*\(.*\)\s*$", "", reason or "")
    key = re.sub(r"\s+in \d{4}-\d{2}$", "", key)
    return key.strip()[:REASON_MAX] or "unknown"


def count_key(processed_at: dt.datetime, trigger_id: str | None, event_type: str, decision: str,
              reason: str) -> tuple[int, str, str, str, str]:
    """The counter an event adds to (the reason kept, without figures, for ``suppressed`` only)."""
    return (minute_of(processed_at), trigger_id or "", event_type, decision,
            reason_key(reason) if decision == "suppressed" else "")


def minute_of(t: dt.datetime) -> int:
    """Whole minutes since 1970-01-01 UTC (a naive time is taken as UTC)."""
    t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return int(t.timestamp() // 60)


class TriggerEventCount(Base):
    """``n`` events processed in ``minute`` (minutes since the epoch, UTC, of ``processed_at``) with this
    trigger (``""`` for none), event type, decision and reason key (``""`` unless ``suppressed``)."""

    __tablename__ = "trigger_event_counts"

    minute: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    decision: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(REASON_MAX), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


_COUNTS = cast(Table, TriggerEventCount.__table__)
_KEY = ("minute", "trigger_id", "event_type", "decision", "reason")


def add_counts(session: Session, counts: Mapping[tuple[int, str, str, str, str], int]) -> None:
    """Add ``counts`` (key -> events) to the counters in the caller's transaction (one upsert statement).

    Keys are written in sorted order, so two consumers adding to the same counters lock them in the
    same order (PostgreSQL) and cannot deadlock on them.
    """
    if not counts:
        return
    rows = [dict(zip(_KEY, (m, t, e, d, r[:REASON_MAX]), strict=True)) | {"n": n}
            for (m, t, e, d, r), n in sorted(counts.items())]
    dialect = session.get_bind().dialect.name
    ins: Any = pg_insert(_COUNTS) if dialect == "postgresql" else sqlite_insert(_COUNTS)
    stmt = ins.on_conflict_do_update(index_elements=list(_KEY), set_={"n": _COUNTS.c.n + ins.excluded.n})
    session.execute(stmt, rows)


def counts_since(session: Session, since: int, split: int) -> list[tuple[bool, str, str, str, str, int]]:
    """Counters from minute ``since`` on, summed in the database per (minute >= ``split``, trigger,
    event type, decision, reason): a few dozen rows, however many minutes the window holds."""
    c = _COUNTS.c
    late = case((c.minute >= split, 1), else_=0)
    rows = session.execute(select(late, c.trigger_id, c.event_type, c.decision, c.reason, func.sum(c.n))
                           .where(c.minute >= since)
                           .group_by(late, c.trigger_id, c.event_type, c.decision, c.reason)).all()
    return [(bool(x), t, e, d, r, int(n)) for x, t, e, d, r, n in rows]


TRIGGER_COUNT_TABLES = (TriggerEventCount,)
