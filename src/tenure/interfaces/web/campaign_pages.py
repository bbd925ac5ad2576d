"""Retention-work pages: campaigns with preview and approval, plan a month, work-order queue with
two-click outcomes, execution-list downloads and the weekly report."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from tenure.domain.campaigns import allowed_transitions
from tenure.domain.errors import EngineError, InputError, NotFound, TenureError
from tenure.domain.model import MONTH_PATTERN
from tenure.domain.outcomes import REASONS, Outcome
from tenure.interfaces.api.campaigns import campaign_service, execution_service
from tenure.interfaces.api.deps import RowId, ServicesDep
from tenure.interfaces.web.pages import CsrfChecked, PageUser, render
from tenure.services.campaign_preview import PREVIEW_ROLES, CampaignPreviewService
from tenure.services.execution import LIST_ROLES
from tenure.services.monthly_plan import MonthlyPlanService
from tenure.services.weekly_report import check_reader, weekly_report

router = APIRouter(include_in_schema=False)


def _planner(services) -> MonthlyPlanService:  # type: ignore[no-untyped-def]
    s = services.settings
    return MonthlyPlanService(services.uow, services.warehouse, s.home, threads=s.duckdb_threads,
                              memory_limit=s.duckdb_memory_limit)


def _months(services) -> list[str]:  # type: ignore[no-untyped-def]
    return list(reversed(services.warehouse.months("output", "profiles")))


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    stored = campaign_service(services).find()
    rows = [{**s.to_dict(), "moves": [m.value for m in allowed_transitions(s.campaign.status, user.role)]}
            for s in stored]
    return render(request, "campaigns.html", user, campaigns=rows, months=_months(services),
                  can_plan=user.role in ("administrator", "retention_manager"),
                  plan=request.session.pop("plan_result", None))


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign(request: Request, campaign_id: str, user: PageUser, services: ServicesDep,
             month: str | None = None) -> HTMLResponse:
    """The campaign; its preview (latest profiled month) loads beside it, at once for drafts and submissions."""
    stored = campaign_service(services).get(campaign_id)
    months = _months(services)
    month = month if month in months else (months[0] if months else None)
    return render(request, "campaign.html", user, c=stored.to_dict(), month=month, months=months,
                  can_preview=user.role in PREVIEW_ROLES,
                  auto_preview=stored.campaign.status.value in ("draft", "submitted"),
                  moves=[m.value for m in allowed_transitions(stored.campaign.status, user.role)])


@router.get("/campaigns/{campaign_id}/preview", response_class=HTMLResponse)
def campaign_preview(request: Request, campaign_id: str, user: PageUser, services: ServicesDep,
                     month: Annotated[str, Query(pattern=MONTH_PATTERN)], refresh: bool = False) -> HTMLResponse:
    """The preview partial: read from the cache of (campaign version, month), computed when missing."""
    preview, preview_error = None, None
    try:
        preview = CampaignPreviewService(services.uow, _planner(services)).preview(
            user.name, campaign_id, month, refresh=refresh)
    except (InputError, NotFound, EngineError) as exc:  # a month or campaign the planner cannot use
        preview_error = str(exc)
    return render(request, "partials/campaign_preview.html", user, preview=preview, preview_error=preview_error,
                  month=month, campaign_id=campaign_id)


@router.post("/campaigns/{campaign_id}/transition", dependencies=[CsrfChecked])
def transition(campaign_id: str, user: PageUser, services: ServicesDep,
               target: Annotated[str, Form(max_length=16)]) -> Response:
    campaign_service(services).transition(user.name, campaign_id, target)
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/campaigns/plan-month", dependencies=[CsrfChecked])
def plan_month(request: Request, user: PageUser, services: ServicesDep,
               month: Annotated[str, Form(max_length=7)]) -> Response:
    if user.role not in ("administrator", "retention_manager"):
        from tenure.domain.errors import PermissionDenied

        raise PermissionDenied(f"{user.name} ({user.role}) may not plan a month")
    doc = _planner(services).plan(month, user.name)
    request.session["plan_result"] = {"month": doc["month"], "totals": {
        "considered": doc["totals"]["considered"], "selected": doc["totals"]["decisions"]["selected"],
        "control": doc["totals"]["decisions"]["control"]}, "stored": doc["stored"],
        "channels": doc["channels"]}
    return RedirectResponse("/campaigns", status_code=303)


@router.get("/execution-lists/{month}/{channel}.xlsx")
def download_list(month: str, channel: str, user: PageUser, services: ServicesDep) -> FileResponse:
    tmp = Path(tempfile.mkdtemp(prefix="tenure-list-")) / f"execution-list-{month}-{channel}.xlsx"
    execution_service(services).export_xlsx(user.name, month, channel, tmp)

    def _cleanup() -> None:
        tmp.unlink(missing_ok=True)
        tmp.parent.rmdir()

    return FileResponse(tmp, filename=tmp.name, background=BackgroundTask(_cleanup),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.get("/work-orders", response_class=HTMLResponse)
def work_orders(request: Request, user: PageUser, services: ServicesDep, status: str = "open") -> HTMLResponse:
    ex = execution_service(services)
    orders = ex.queue(user.name, None, None if status == "all" else status)
    lists = ex.available_lists(user.name) if user.role in LIST_ROLES else []
    return render(request, "work_orders.html", user, orders=orders, lists=lists, status=status)


@router.get("/work-orders/{order_id}", response_class=HTMLResponse)
def work_order(request: Request, order_id: RowId, user: PageUser, services: ServicesDep) -> HTMLResponse:
    order = execution_service(services).get(user.name, order_id)
    try:
        c = campaign_service(services).get(order["campaign_id"]).to_dict()
    except TenureError:
        c = None
    return render(request, "work_order.html", user, o=order, c=c, reasons=REASONS,
                  follow_up=(dt.date.today() + dt.timedelta(days=3)).isoformat())


@router.post("/work-orders/{order_id}/outcome", dependencies=[CsrfChecked])
def record_outcome(
    order_id: RowId, user: PageUser, services: ServicesDep,
    result: Annotated[str, Form(max_length=16)],
    reason: Annotated[str | None, Form(max_length=32)] = None,
    notes: Annotated[str, Form(max_length=2000)] = "",
    follow_up: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    """One button per result: not reached, accepted, refused (with the reason chosen beside it), thinking."""
    from tenure.domain.errors import InputError

    follow = dt.date.fromisoformat(follow_up) if follow_up else None
    if result == "not_reached":
        outcome = Outcome(reached=False, notes=notes)
    elif result in ("accepted", "refused", "thinking"):
        outcome = Outcome(reached=True, response=result, reason=(reason or "other") if result == "refused" else None,
                          notes=notes, follow_up=follow if result == "thinking" else None)
    else:
        raise InputError(f"unknown result {result!r}")
    execution_service(services).record_outcome(user.name, order_id, outcome, source="page")
    return RedirectResponse(f"/work-orders/{order_id}?saved=1", status_code=303)


@router.get("/reports/weekly", response_class=HTMLResponse)
def weekly(request: Request, user: PageUser, services: ServicesDep, week: str | None = None) -> HTMLResponse:
    check_reader(user.role)
    if not week:
        y, w, _ = dt.date.today().isocalendar()
        week = f"{y}-W{w:02d}"
    return render(request, "campaign_weekly.html", user, report=weekly_report(services.uow, week), week=week)
