"""Event intake over HTTP, for systems that cannot publish to the bus: same service, same exactly-once."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Body, Response

from tenure.domain.errors import InputError, PermissionDenied
from tenure.interfaces.api.deps import CurrentUser, ServicesDep
from tenure.services.triggers import TriggerService, load_triggers
from tenure.services.warning_profiles import trigger_profiles

router = APIRouter(prefix="/api/v1", tags=["events"])

EVENT_ROLES = frozenset({"administrator", "retention_manager", "channel_owner"})
"""Roles whose API tokens may submit events."""

_cache: dict[int, tuple[str | None, TriggerService, Any]] = {}
_lock = threading.Lock()


def _intake(services: Any) -> tuple[TriggerService, Any]:
    """The trigger service and profile lookup of this app; the lookup is rebuilt when a new month is profiled."""
    months = services.warehouse.months("output", "profiles")
    latest = months[-1] if months else None
    with _lock:
        hit = _cache.get(id(services))
        if hit is None or hit[0] != latest:
            own = services.settings.home / "config" / "triggers"
            svc = TriggerService(services.uow, load_triggers(own) if own.is_dir() else None)
            hit = (latest, svc, trigger_profiles(services, svc.triggers))  # profiles + open manual warnings
            _cache[id(services)] = hit
        return hit[1], hit[2]


@router.post("/events")
def post_event(user: CurrentUser, services: ServicesDep, response: Response,
               event: dict[str, Any] = Body(..., examples=[{  # noqa: B008 - FastAPI's way of declaring a body
                   "event_id": "crm-000123", "subscriber_id": "S0001", "type": "complaint",
                   "occurred_at": "2026-11-23T08:00:00+08:00", "attributes": {"severity": 4}}])) -> dict:
    """Act on one event exactly once; a repeated event id returns the first decision (``duplicate: true``)."""
    if user.role not in EVENT_ROLES:
        raise PermissionDenied(f"{user.name} ({user.role}) may not submit events")
    svc, lookup = _intake(services)
    decision = svc.process_event(event, lookup, source="api")
    if decision.decision == "dead_letter":
        raise InputError("invalid event (kept as a dead letter): " + decision.reason)
    response.status_code = 200 if decision.duplicate else 201
    return decision.to_dict()
