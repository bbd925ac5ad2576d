"""Trigger operations in the JSON API: status and live counts, pause and resume, dead letters and replay.

Administrators and retention managers operate; analysts read; other roles get 403 (checked by the service).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from tenure.interfaces.api.deps import CurrentUser, RowId, ServicesDep
from tenure.interfaces.api.events import _intake
from tenure.services.trigger_ops import TriggerOpsService

router = APIRouter(prefix="/api/v1", tags=["events"])

TriggerId = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


def trigger_ops_service(services: Any) -> TriggerOpsService:
    """The operations over this app's intake (the same triggers and profile lookup as ``POST /events``)."""
    return TriggerOpsService(services.uow, lambda: _intake(services),
                             pii_roles=tuple(getattr(services.settings, "pii_roles", ["administrator"])))


class PauseIn(BaseModel):
    note: Annotated[str, Field(max_length=2000)] = ""


class ReplayIn(BaseModel):
    """A corrected payload (the event as an object or as JSON text); without it the stored payload is replayed."""

    payload: dict[str, Any] | Annotated[str, Field(max_length=100_000)] | None = None


@router.get("/triggers")
def trigger_status(user: CurrentUser, services: ServicesDep,
                   latency_window: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> dict:
    """Every trigger: paused or running, counts of the last hour and of today (UTC), latency p50/p95/p99."""
    return trigger_ops_service(services).status(user.name, latency_window)


@router.get("/triggers/{trigger_id}/events")
def trigger_events(trigger_id: TriggerId, user: CurrentUser, services: ServicesDep,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict]:
    """The latest events decided for one trigger, newest first."""
    return trigger_ops_service(services).last_events(user.name, trigger_id, limit)


@router.post("/triggers/{trigger_id}/pause")
def pause_trigger(trigger_id: TriggerId, user: CurrentUser, services: ServicesDep, body: PauseIn | None = None) -> dict:
    """Pause a trigger: its events are recorded as suppressed ("trigger paused") until it is resumed."""
    return trigger_ops_service(services).pause(user.name, trigger_id, body.note if body else "")


@router.post("/triggers/{trigger_id}/resume")
def resume_trigger(trigger_id: TriggerId, user: CurrentUser, services: ServicesDep) -> dict:
    return trigger_ops_service(services).resume(user.name, trigger_id)


@router.get("/events/recent")
def recent_events(user: CurrentUser, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[dict]:
    """The latest processed events of every trigger, newest first."""
    return trigger_ops_service(services).last_events(user.name, None, limit)


@router.get("/events/dead-letters")
def dead_letters(user: CurrentUser, services: ServicesDep, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 open_only: bool = False) -> dict:
    """Dead letters, newest first, with their replay when replayed; payloads masked for roles without PII."""
    return trigger_ops_service(services).dead_letters(user.name, limit, include_replayed=not open_only)


@router.post("/events/dead-letters/{dead_letter_id}/replay")
def replay_dead_letter(dead_letter_id: RowId, user: CurrentUser, services: ServicesDep, response: Response,
                       body: ReplayIn | None = None) -> dict:
    """Submit a dead letter again through the intake; a second replay does nothing and says so.

    A payload that is still invalid answers 422 with the dead letter and its new reason.
    """
    payload = None if body is None or body.payload is None else (
        body.payload if isinstance(body.payload, str) else json.dumps(body.payload, ensure_ascii=False))
    doc = trigger_ops_service(services).replay(user.name, dead_letter_id, payload)
    if not doc["replayed"]:
        response.status_code = 422
    return doc
