"""Retention work in the JSON API: campaigns, execution lists, work orders and outcomes, the weekly report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from tenure.domain.model import MONTH_PATTERN
from tenure.domain.outcomes import Outcome
from tenure.interfaces.api.deps import CurrentUser, RowId, ServicesDep
from tenure.services.campaigns import CampaignService
from tenure.services.execution import ExecutionService
from tenure.services.weekly_report import check_reader, weekly_report

router = APIRouter(prefix="/api/v1", tags=["retention work"])


def campaign_service(services) -> CampaignService:  # type: ignore[no-untyped-def]
    return CampaignService(services.uow)


def execution_service(services) -> ExecutionService:  # type: ignore[no-untyped-def]
    return ExecutionService(services.uow, pii_roles=tuple(getattr(services.settings, "pii_roles", ["administrator"])))


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
