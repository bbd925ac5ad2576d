"""Key-account pages: groups and group 360, SLA orders and compensation, return
visits and coverage, the opportunity pipeline, points on the customer page.

Each route parses input, calls one key-account service and renders a template.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from tenure.domain.errors import InputError
from tenure.domain.model import MONTH_PATTERN
from tenure.interfaces.api.deps import RowId, ServicesDep
from tenure.interfaces.api.enterprise import key_accounts
from tenure.interfaces.web.pages import CsrfChecked, PageUser, render

router = APIRouter(include_in_schema=False)

GroupKey = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Short = Annotated[str, Form(max_length=255)]
Long = Annotated[str, Form(max_length=4000)]


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def _flows(text: str) -> list[float]:
    try:
        flows = [float(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise InputError("cash flows: numbers separated by spaces or commas, the first usually negative") from None
    if not flows:
        raise InputError("cash flows: at least one number")
    return flows


# -- groups ------------------------------------------------------------------------------
@router.get("/groups", response_class=HTMLResponse)
def groups_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    groups = key_accounts(services).groups.list(user)
    return render(request, "groups.html", user, groups=groups)


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group_page(request: Request, group_id: GroupKey, user: PageUser, services: ServicesDep) -> HTMLResponse:
    ka = key_accounts(services)
    doc = ka.groups.view_360(user, group_id)
    cid = doc["group"]["customer_id"]
    orders = [o for o in ka.sla_orders.list(user) if o["customer_id"] == cid or o["group_id"] == group_id]
    requests = [r for r in ka.one_stop.list(user, open_only=True)
                if r["customer_id"] == cid or r["group_id"] == group_id]
    opportunities = [o for o in ka.opportunities.list(user) if o["customer_id"] == cid or o["group_id"] == group_id]
    return render(request, "group.html", user, doc=doc, orders=orders, requests=requests,
                  opportunities=opportunities)


@router.post("/groups/{group_id}/notes", dependencies=[CsrfChecked])
def add_note(group_id: GroupKey, user: PageUser, services: ServicesDep,
             kind: Annotated[str, Form(max_length=16)], body: Long) -> RedirectResponse:
    key_accounts(services).groups.add_note(user, group_id, kind, body)
    return RedirectResponse(f"/groups/{group_id}#notes", status_code=303)


@router.post("/groups/{group_id}/requests", dependencies=[CsrfChecked])
def log_request(group_id: GroupKey, user: PageUser, services: ServicesDep,
                kind: Annotated[str, Form(max_length=24)], summary: Long) -> RedirectResponse:
    ka = key_accounts(services)
    g = ka.groups.group(user, group_id)
    ka.one_stop.log(user, customer_id=g["customer_id"], group_id=group_id, kind=kind, summary=summary)
    return RedirectResponse(f"/groups/{group_id}#requests", status_code=303)


# -- SLA orders ----------------------------------------------------------------------------
@router.get("/sla", response_class=HTMLResponse)
def sla_orders_page(request: Request, user: PageUser, services: ServicesDep,
                    customer_id: Annotated[str, Query(max_length=64)] = "",
                    group_id: Annotated[str, Query(max_length=64)] = "") -> HTMLResponse:
    orders = key_accounts(services).sla_orders.list(user)
    return render(request, "sla_orders.html", user, orders=orders, customer_id=customer_id, group_id=group_id)


@router.post("/sla", dependencies=[CsrfChecked])
def create_sla_order(
    user: PageUser, services: ServicesDep, customer_id: Annotated[str, Form(max_length=64)],
    service: Annotated[str, Form(max_length=16)], tier: Annotated[str, Form(max_length=16)],
    one_off_fee: Annotated[str, Form(max_length=20)], accepted_on: Annotated[str, Form(max_length=10)],
    group_id: Annotated[str, Form(max_length=64)] = "",
    star_level: Annotated[str, Form(max_length=1)] = "",
) -> RedirectResponse:
    order = key_accounts(services).sla_orders.create(
        user, customer_id=customer_id.strip(), service=service, tier=tier, one_off_fee=one_off_fee,
        accepted_on=_date(accepted_on, "accepted on"), group_id=group_id.strip() or None,
        star_level=star_level.strip() or None)
    return RedirectResponse(f"/sla/{order['id']}", status_code=303)


@router.get("/sla/compensation", response_class=HTMLResponse)
def sla_compensation_page(request: Request, user: PageUser, services: ServicesDep,
                          month: Annotated[str | None, Query(pattern=f"{MONTH_PATTERN}|^$")] = None) -> HTMLResponse:
    report = key_accounts(services).sla_orders.compensation_report(user, month or None)
    return render(request, "sla_compensation.html", user, report=report, month=month or "")


@router.get("/sla/{order_id}", response_class=HTMLResponse)
def sla_order_page(request: Request, order_id: RowId, user: PageUser, services: ServicesDep) -> HTMLResponse:
    return render(request, "sla_order.html", user, o=key_accounts(services).sla_orders.get(user, order_id))


@router.post("/sla/{order_id}/complete", dependencies=[CsrfChecked])
def complete_sla_order(order_id: RowId, user: PageUser, services: ServicesDep,
                       completed_on: Annotated[str, Form(max_length=10)]) -> RedirectResponse:
    key_accounts(services).sla_orders.complete(user, order_id, _date(completed_on, "completed on"))
    return RedirectResponse(f"/sla/{order_id}", status_code=303)


# -- return visits ----------------------------------------------------------------------------
@router.get("/visits", response_class=HTMLResponse)
def visits_page(request: Request, user: PageUser, services: ServicesDep,
                month: Annotated[str | None, Query(pattern=f"{MONTH_PATTERN}|^$")] = None) -> HTMLResponse:
    ka = key_accounts(services)
    return render(request, "visits.html", user, tasks=ka.visits.queue(user),
                  coverage=ka.visits.coverage(user, month or None), month=month or "")


@router.post("/visits/{task_id}/complete", dependencies=[CsrfChecked])
def complete_visit(task_id: RowId, user: PageUser, services: ServicesDep,
                   outcome: Long = "") -> RedirectResponse:
    key_accounts(services).visits.complete(user, task_id, outcome)
    return RedirectResponse("/visits", status_code=303)


# -- opportunities ------------------------------------------------------------------------------
@router.get("/opportunities", response_class=HTMLResponse)
def opportunities_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    ka = key_accounts(services)
    return render(request, "opportunities.html", user, opportunities=ka.opportunities.list(user),
                  forecast=ka.opportunities.forecast(user))


@router.post("/opportunities", dependencies=[CsrfChecked])
def create_opportunity(user: PageUser, services: ServicesDep, customer_id: Annotated[str, Form(max_length=64)],
                       title: Short, expected_value: Annotated[str, Form(max_length=20)] = "0",
                       group_id: Annotated[str, Form(max_length=64)] = "") -> RedirectResponse:
    o = key_accounts(services).opportunities.create(user, customer_id=customer_id.strip(), title=title,
                                                     expected_value=expected_value or "0",
                                                     group_id=group_id.strip() or None)
    return RedirectResponse(f"/opportunities/{o['id']}", status_code=303)


@router.get("/opportunities/{opportunity_id}", response_class=HTMLResponse)
def opportunity_page(request: Request, opportunity_id: RowId, user: PageUser, services: ServicesDep) -> HTMLResponse:
    return render(request, "opportunity.html", user, o=key_accounts(services).opportunities.get(user, opportunity_id))


@router.post("/opportunities/{opportunity_id}/application", dependencies=[CsrfChecked])
def opportunity_application(opportunity_id: RowId, user: PageUser, services: ServicesDep, application: Long,
                            expected_value: Annotated[str, Form(max_length=20)],
                            expected_close: Annotated[str, Form(max_length=10)]) -> RedirectResponse:
    key_accounts(services).opportunities.apply(user, opportunity_id, application=application,
                                               expected_value=expected_value,
                                               expected_close=_date(expected_close, "expected close"))
    return RedirectResponse(f"/opportunities/{opportunity_id}", status_code=303)


@router.post("/opportunities/{opportunity_id}/plan", dependencies=[CsrfChecked])
def opportunity_plan(opportunity_id: RowId, user: PageUser, services: ServicesDep, plan: Long,
                     cash_flows: Annotated[str, Form(max_length=4000)],
                     discount_rate: Annotated[str, Form(max_length=12)],
                     periods_per_year: Annotated[int, Form(ge=1, le=12)] = 1) -> RedirectResponse:
    try:
        rate = float(discount_rate) / 100
    except ValueError:
        raise InputError(f"discount rate: {discount_rate!r} is not a number (percent a year)") from None
    key_accounts(services).opportunities.plan(user, opportunity_id, plan=plan, cash_flows=_flows(cash_flows),
                                              discount_rate=rate, periods_per_year=periods_per_year)
    return RedirectResponse(f"/opportunities/{opportunity_id}", status_code=303)


@router.post("/opportunities/{opportunity_id}/close", dependencies=[CsrfChecked])
def opportunity_close(opportunity_id: RowId, user: PageUser, services: ServicesDep,
                      outcome: Annotated[str, Form(max_length=8)]) -> RedirectResponse:
    key_accounts(services).opportunities.close(user, opportunity_id, won=outcome == "won")
    return RedirectResponse(f"/opportunities/{opportunity_id}", status_code=303)


# -- points on the customer page ------------------------------------------------------------------
@router.get("/customers/{customer_id}/points", response_class=HTMLResponse)
def customer_points(request: Request, customer_id: GroupKey, user: PageUser, services: ServicesDep) -> HTMLResponse:
    accounts = key_accounts(services).points.of_customer(user, customer_id)
    return render(request, "partials/customer_points.html", user, accounts=accounts)
