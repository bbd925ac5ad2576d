"""Operations state of the triggers: which trigger is paused (by whom, since when, why) and which dead
letters have been replayed (by whom, when, with what decision)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenure.engines.store.models import Base

TRIGGER_PAUSED = "trigger paused"
"""The reason recorded on an event whose trigger is paused (decision ``suppressed``)."""


class TriggerState(Base):
    """One row per trigger that has ever been paused; ``paused`` is its current state."""

    __tablename__ = "trigger_states"

    trigger_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class DeadLetterReplay(Base):
    """A dead letter replayed successfully; unique on the dead letter so a second replay does nothing."""

    __tablename__ = "dead_letter_replays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: event_dead_letters lives on another migration branch (see 0005_trigger_ops).
    dead_letter_id: Mapped[int] = mapped_column(Integer, unique=True)
    event_id: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))
    trigger_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    work_order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    replayed_by: Mapped[str] = mapped_column(String(64))
    replayed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def paused_trigger_ids(session: Session) -> frozenset[str]:
    """The ids of the triggers paused right now (read inside the caller's transaction)."""
    return frozenset(session.scalars(select(TriggerState.trigger_id).where(TriggerState.paused.is_(True))).all())


TRIGGER_OPS_TABLES = (TriggerState, DeadLetterReplay)
