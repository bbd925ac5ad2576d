"""Fixtures of the event-intake tests: the store on SQLite (and PostgreSQL when reachable), triggers, profiles."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from tenure.domain.triggers import Trigger
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tests.support.store import postgres_engine_in_own_schema, rolled_back_units, sqlite_engine_at


@pytest.fixture(scope="session")
def trigger_sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from sqlite_engine_at(tmp_path_factory.mktemp("trigger-store") / "store.db")


@pytest.fixture(scope="session")
def trigger_postgres_engine() -> Iterator[Engine]:
    yield from postgres_engine_in_own_schema("tenure_trg")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Units of work on one connection inside a transaction rolled back after the test."""
    yield from rolled_back_units(request.getfixturevalue(f"trigger_{request.param}_engine"))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def complaint_trigger(**kw: Any) -> Trigger:
    args: dict[str, Any] = {"trigger_id": "complaint_core", "name": "Core customer complained", "name_zh": "核心客户投诉",
                                "event_type": "complaint", "condition": "event_severity >= 3 and is_core = 1",
                                "action": "work_order", "due_within_hours": 2.0, "control_share": 0.0}
    args.update(kw)
    return Trigger(**args)


def event(subscriber_id: str, event_id: str | None = None, type: str = "complaint",
          at: str = "2026-11-23T08:00:00+00:00", **attributes: Any) -> dict[str, Any]:
    return {"event_id": event_id or unique("ev-"), "subscriber_id": subscriber_id, "type": type,
            "occurred_at": at, "attributes": attributes or {"severity": 4}}


def core_profile(subscriber_id: str) -> dict[str, Any]:
    return {"subscriber_id": subscriber_id, "customer_id": "C" + subscriber_id, "stage": "mature", "is_core": True,
            "risk_decile": 9, "segment_id": "S1"}


NOW = dt.datetime(2026, 11, 23, 8, 0, 5, tzinfo=dt.UTC)
