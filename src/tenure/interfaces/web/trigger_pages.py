"""Trigger operations pages: live counts, latency, last events and dead letters (refreshed by HTMX every
few seconds), pause and resume a trigger, replay a dead letter."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenure.interfaces.api.deps import RowId, ServicesDep
from tenure.interfaces.api.trigger_ops import TriggerId, trigger_ops_service
from tenure.interfaces.web.pages import CsrfChecked, PageUser, render
from tenure.services.trigger_ops import OPERATE_ROLES

router = APIRouter(include_in_schema=False)

REFRESH_SECONDS = 5


def _overview(user: Any, services: Any) -> dict[str, Any]:
    ops = trigger_ops_service(services)
    return {"status": ops.status(user.name), "events": ops.last_events(user.name, None, 20),
            "letters": ops.dead_letters(user.name, 20), "can_operate": user.role in OPERATE_ROLES,
            "refresh": REFRESH_SECONDS}


def _detail(user: Any, services: Any, trigger_id: str) -> dict[str, Any]:
    ops = trigger_ops_service(services)
    status = ops.status(user.name)
    row = next((t for t in status["triggers"] if t["trigger_id"] == trigger_id), None)
    if row is None:
        from tenure.domain.errors import NotFound

        raise NotFound(f"no trigger {trigger_id!r}")
    return {"t": row, "status": status, "events": ops.last_events(user.name, trigger_id, 50),
            "can_operate": user.role in OPERATE_ROLES, "refresh": REFRESH_SECONDS}


@router.get("/triggers", response_class=HTMLResponse)
def triggers_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    return render(request, "triggers.html", user, **_overview(user, services),
                  flash=request.session.pop("trigger_flash", None))


@router.get("/triggers/live", response_class=HTMLResponse)
def triggers_live(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    """The refreshed part of /triggers (HTMX polls it)."""
    return render(request, "trigger_live.html", user, **_overview(user, services))


@router.get("/triggers/{trigger_id}", response_class=HTMLResponse)
def trigger_page(request: Request, trigger_id: TriggerId, user: PageUser, services: ServicesDep) -> HTMLResponse:
    return render(request, "trigger.html", user, **_detail(user, services, trigger_id),
                  flash=request.session.pop("trigger_flash", None))


@router.get("/triggers/{trigger_id}/live", response_class=HTMLResponse)
def trigger_live(request: Request, trigger_id: TriggerId, user: PageUser, services: ServicesDep) -> HTMLResponse:
    return render(request, "trigger_detail_live.html", user, **_detail(user, services, trigger_id))


def _back(target: str, trigger_id: str | None = None) -> str:
    # Only the two pages of this module: never an address taken from the form.
    return f"/triggers/{trigger_id}" if target == "detail" and trigger_id else "/triggers"


@router.post("/triggers/{trigger_id}/pause", dependencies=[CsrfChecked])
def pause(request: Request, trigger_id: TriggerId, user: PageUser, services: ServicesDep,
          note: Annotated[str, Form(max_length=2000)] = "", back: Annotated[str, Form(max_length=16)] = "") -> Response:
    state = trigger_ops_service(services).pause(user.name, trigger_id, note)
    request.session["trigger_flash"] = {"kind": "paused", "trigger_id": trigger_id, "changed": state["changed"]}
    return RedirectResponse(_back(back, trigger_id), status_code=303)


@router.post("/triggers/{trigger_id}/resume", dependencies=[CsrfChecked])
def resume(request: Request, trigger_id: TriggerId, user: PageUser, services: ServicesDep,
           back: Annotated[str, Form(max_length=16)] = "") -> Response:
    state = trigger_ops_service(services).resume(user.name, trigger_id)
    request.session["trigger_flash"] = {"kind": "resumed", "trigger_id": trigger_id, "changed": state["changed"]}
    return RedirectResponse(_back(back, trigger_id), status_code=303)


@router.post("/triggers/dead-letters/{dead_letter_id}/replay", dependencies=[CsrfChecked])
def replay(request: Request, dead_letter_id: RowId, user: PageUser, services: ServicesDep,
           payload: Annotated[str, Form(max_length=100_000)] = "") -> Response:
    """Replay with the stored payload, or with the corrected one typed into the form."""
    doc = trigger_ops_service(services).replay(user.name, dead_letter_id, payload.strip() or None)
    decision = doc["decision"] or {}
    request.session["trigger_flash"] = {
        "kind": "replayed" if doc["replayed"] else "replay_failed", "dead_letter_id": dead_letter_id,
        "already": doc["already_replayed"], "decision": decision.get("decision"),
        "reason": doc["dead_letter"]["reason"] if not doc["replayed"] else decision.get("reason", "")}
    return RedirectResponse("/triggers#dead-letters", status_code=303)
