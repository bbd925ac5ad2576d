"""Retention work in the JSON API: campaigns, execution lists, work orders and outcomes, the weekly report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from tenure.domain.model import MONTH_PATTERN
from tenure.domain.outcomes import Outcome
from tenure.interfaces.api.deps import CurrentUser, RowId, ServicesDep
from tenure.services.campaign_preview import CampaignPreviewService
from tenure.services.campaigns import CampaignService
from tenure.services.contact_lists import ContactListService
from tenure.services.execution import ExecutionService
from tenure.services.weekly_report import check_reader, weekly_report

router = APIRouter(prefix="/api/v1", tags=["retention work"])


def campaign_service(services) -> CampaignService:  # type: ignore[no-untyped-def]
    return CampaignService(services.uow)


def execution_service(services) -> ExecutionService:  # type: ignore[no-untyped-def]
    return ExecutionService(services.uow, pii_roles=tuple(getattr(services.settings, "pii_roles", ["administrator"])))


def contact_list_service(services) -> ContactListService:  # type: ignore[no-untyped-def]
    return ContactListService(services.uow, pii_roles=tuple(getattr(services.settings, "pii_roles", ["administrator"])))


def preview_service(services) -> CampaignPreviewService:  # type: ignore[no-untyped-def]
    from tenure.services.monthly_plan import MonthlyPlanService

    s = services.settings
    return CampaignPreviewService(services.uow, MonthlyPlanService(
        services.uow, services.warehouse, s.home, threads=s.duckdb_threads, memory_limit=s.duckdb_memory_limit))


Name = Annotated[str, Field(min_length=1, max_length=64)]


class OfferIn(BaseModel):
    strategy_id: Name
    offer_id: Name
    name: Annotated[str, Field(min_length=1, max_length=255)]
    name_zh: Annotated[str, Field(max_length=255)] = ""
    description: Annotated[str, Field(max_length=2000)] = ""
    unit_cost: Annotated[float, Field(ge=0, le=1_000_000)]
    validity_days: Annotated[int, Field(ge=1, le=3660)] = 30
    eligibility: Annotated[str, Field(max_length=2000)] = ""


class ListEntryIn(BaseModel):
    subscriber_id: Name
    kind: Literal["do_not_disturb", "opt_out"]
    channel: Annotated[str, Field(max_length=32)] = "*"
    msisdn: Annotated[str | None, Field(max_length=32)] = None


class TransitionIn(BaseModel):
    target: Literal["draft", "submitted", "approved", "running", "closed"]


class OutcomeIn(BaseModel):
    reached: bool
    response: Literal["accepted", "refused", "thinking"] | None = None
    reason: Annotated[str | None, Field(max_length=32)] = None
    notes: Annotated[str, Field(max_length=2000)] = ""
    follow_up: dt.date | None = None
    attempt: Annotated[int | None, Field(ge=1, le=100)] = None
    contact_date: dt.date | None = None


class ReassignIn(BaseModel):
    to: Annotated[str, Field(max_length=64)]


@router.get("/campaigns")
def list_campaigns(user: CurrentUser, services: ServicesDep) -> list[dict]:
    return [s.to_dict() for s in campaign_service(services).find()]


@router.get("/campaigns/{campaign_id}")
def get_campaign(campaign_id: str, user: CurrentUser, services: ServicesDep) -> dict:
    return campaign_service(services).get(campaign_id).to_dict()


@router.get("/campaigns/{campaign_id}/preview")
def campaign_preview(
    campaign_id: str, user: CurrentUser, services: ServicesDep,
    month: Annotated[str, Query(pattern=MONTH_PATTERN)], refresh: bool = False,
) -> dict:
    """The campaign planned alone for ``month``, cached per campaign version (``cached`` says which)."""
    return preview_service(services).preview(user.name, campaign_id, month, refresh=refresh)


@router.get("/offers")
def offers(user: CurrentUser, services: ServicesDep, include_retired: bool = False) -> list[dict]:
    """The strategy-offer library: shipped offers and the operator's own."""
    return campaign_service(services).offers(include_retired=include_retired)


@router.post("/offers", status_code=201)
def add_offer(body: OfferIn, user: CurrentUser, services: ServicesDep) -> dict:
    """Add an offer to a strategy kind (retention managers and administrators)."""
    return campaign_service(services).add_offer(
        user.name, body.strategy_id, body.offer_id, body.name, body.unit_cost, body.validity_days,
        body.name_zh, body.description, body.eligibility)


@router.post("/offers/{strategy_id}/{offer_id}/retire")
def retire_offer(strategy_id: str, offer_id: str, user: CurrentUser, services: ServicesDep) -> dict:
    """Retire an offer: no new campaign may use it; campaigns that have it keep it."""
    return campaign_service(services).retire_offer(user.name, strategy_id, offer_id)


@router.get("/contact-lists")
def contact_lists(
    user: CurrentUser, services: ServicesDep,
    kind: Literal["do_not_disturb", "opt_out"] | None = None,
    channel: Annotated[str | None, Query(max_length=32)] = None,
    subscriber_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    """Do-not-disturb and opt-out entries (phone numbers masked by role) and the size of each list."""
    svc = contact_list_service(services)
    return {"lists": svc.overview(user.name),
            "entries": svc.entries(user.name, kind, channel, subscriber_id, limit, offset)}


@router.post("/contact-lists", status_code=201)
def add_list_entry(body: ListEntryIn, user: CurrentUser, services: ServicesDep) -> dict:
    added = contact_list_service(services).add(user.name, body.subscriber_id, body.channel, body.kind, body.msisdn)
    return {"added": added}


@router.delete("/contact-lists/{entry_id}")
def remove_list_entry(entry_id: RowId, user: CurrentUser, services: ServicesDep) -> dict:
    return contact_list_service(services).remove(user.name, entry_id)


@router.post("/contact-lists/upload")
async def upload_list(
    request: Request, user: CurrentUser, services: ServicesDep,
    kind: Literal["do_not_disturb", "opt_out"],
    channel: Annotated[str, Query(max_length=32)] = "*",
) -> dict:
    """A CSV body (``subscriber_id`` column, optional ``msisdn``, ``channel``, ``kind``): good lines are
    added, bad ones come back with line number and reason; a re-upload adds nothing twice."""
    from tenure.domain.errors import InputError
    from tenure.services.contact_lists import MAX_UPLOAD_BYTES

    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_UPLOAD_BYTES:
            raise InputError(f"the file is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB; split it")
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(contact_list_service(services).upload, user.name, body, kind, channel, "api")
    return result.to_dict()


@router.post("/campaigns/{campaign_id}/transition")
def transition(campaign_id: str, body: TransitionIn, user: CurrentUser, services: ServicesDep) -> dict:
    """Move a campaign through the approval flow (only a retention manager approves)."""
    return campaign_service(services).transition(user.name, campaign_id, body.target).to_dict()


@router.get("/execution-lists/{month}/{channel}")
def execution_list(
    month: Annotated[str, PathParam(pattern=MONTH_PATTERN)], channel: str, user: CurrentUser, services: ServicesDep,
) -> dict:
    """One channel's execution list of a month (phone numbers masked unless the token's role may see them)."""
    rows = execution_service(services).execution_list(user.name, month, channel)
    return {"month": month, "channel": channel, "count": len(rows), "rows": rows}


@router.get("/work-orders")
def my_work_orders(
    user: CurrentUser, services: ServicesDep,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    status: Literal["open", "done", "all"] = "open",
) -> list[dict]:
    return execution_service(services).queue(user.name, month, None if status == "all" else status)


@router.get("/work-orders/{order_id}")
def work_order(order_id: RowId, user: CurrentUser, services: ServicesDep) -> dict:
    return execution_service(services).get(user.name, order_id)


@router.post("/work-orders/{order_id}/outcome")
def record_outcome(order_id: RowId, body: OutcomeIn, user: CurrentUser, services: ServicesDep) -> dict:
    """Record one contact attempt; the same attempt sent twice is recorded once (``created`` false)."""
    outcome = Outcome(reached=body.reached, response=body.response, reason=body.reason, notes=body.notes,
                      follow_up=body.follow_up)
    view, created = execution_service(services).record_outcome(
        user.name, order_id, outcome, body.attempt, body.contact_date, source="api")
    return {**view, "created": created}


@router.post("/work-orders/{order_id}/reassign")
def reassign(order_id: RowId, body: ReassignIn, user: CurrentUser, services: ServicesDep) -> dict:
    return execution_service(services).reassign(user.name, order_id, body.to)


@router.get("/reports/weekly")
def weekly(user: CurrentUser, services: ServicesDep,
           week: Annotated[str, Query(pattern=r"^\d{4}-W\d{2}$")]) -> dict:
    check_reader(user.role)
    return weekly_report(services.uow, week)
