"""The key-account JSON API: groups, SLA orders, return visits, opportunities,
one-stop requests, loyalty points. Each route parses input, calls one service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from tenure.domain.errors import ConfigurationError
from tenure.domain.model import MONTH_PATTERN
from tenure.domain.roles import Permission
from tenure.interfaces.api.deps import CurrentUser, RowId, ServicesDep
from tenure.services.auth import Principal
from tenure.services.customers import jsonable
from tenure.services.enterprise import KeyAccountServices

router = APIRouter(prefix="/api/v1", tags=["key accounts"])

Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Body = Annotated[str, Field(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")]
Money = Annotated[Decimal, Field(ge=0, le=Decimal(1000000000), max_digits=14, decimal_places=2)]
Day = Annotated[date, Field(ge=date(2004, 1, 1), le=date(2100, 12, 31))]
Points = Annotated[int, Field(ge=1, le=100_000_000)]
Month = Annotated[str | None, Query(pattern=MONTH_PATTERN)]
Key = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def key_accounts(services: Any) -> KeyAccountServices:
    if services.key_accounts is None:
        raise ConfigurationError("the key-account services are not configured")
    return services.key_accounts


def _bulk(user: Principal) -> None:
    # Jobs over every customer belong to people who see every customer.
    user.require(Permission.VIEW_ALL_CUSTOMERS)


# -- groups ---------------------------------------------------------------------------
class NoteIn(BaseModel):
    kind: Literal["key_event", "competitor"]
    body: Body


@router.get("/groups")
def list_groups(user: CurrentUser, services: ServicesDep, month: Month = None) -> list[dict]:
    return jsonable(key_accounts(services).groups.list(user, month))


@router.get("/groups/{group_id}")
def group_360(group_id: Key, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).groups.view_360(user, group_id))


@router.post("/groups/{group_id}/notes", status_code=201)
def add_group_note(group_id: Key, note: NoteIn, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).groups.add_note(user, group_id, note.kind, note.body))


# -- SLA orders --------------------------------------------------------------------------
class OrderIn(BaseModel):
    customer_id: Ident
    group_id: Ident | None = None
    service: Literal["digital", "ddn", "fr_atm"]
    tier: Literal["express", "urgent", "normal"]
    one_off_fee: Money
    accepted_on: Day
    star_level: Annotated[int, Field(ge=1, le=5)] | None = None
    """Defaults to the group's star level in its latest grading."""


class CompleteIn(BaseModel):
    completed_on: Day


@router.get("/sla-orders")
def list_sla_orders(user: CurrentUser, services: ServicesDep,
                    status: Annotated[Literal["open", "completed", "cancelled"] | None, Query()] = None) -> list[dict]:
    return jsonable(key_accounts(services).sla_orders.list(user, status))


@router.post("/sla-orders", status_code=201)
def create_sla_order(order: OrderIn, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).sla_orders.create(user, **order.model_dump()))


@router.get("/sla-orders/compensation")
def sla_compensation(user: CurrentUser, services: ServicesDep, month: Month = None) -> dict:
    return jsonable(key_accounts(services).sla_orders.compensation_report(user, month).to_dict())


@router.get("/sla-orders/{order_id}")
def get_sla_order(order_id: RowId, user: CurrentUser,
                  services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).sla_orders.get(user, order_id))


@router.post("/sla-orders/{order_id}/complete")
def complete_sla_order(order_id: RowId, body: CompleteIn, user: CurrentUser,
                       services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).sla_orders.complete(user, order_id, body.completed_on))


# -- return visits --------------------------------------------------------------------------
class VisitDoneIn(BaseModel):
    outcome: Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")] = ""
    on: Day | None = None


@router.get("/return-visits")
def list_return_visits(user: CurrentUser, services: ServicesDep, include_done: bool = False) -> list[dict]:
    return jsonable(key_accounts(services).visits.queue(user, include_done))


@router.get("/return-visits/coverage")
def return_visit_coverage(user: CurrentUser, services: ServicesDep, month: Month = None) -> dict:
    return jsonable(key_accounts(services).visits.coverage(user, month))


@router.post("/return-visits/generate")
def generate_return_visits(user: CurrentUser, services: ServicesDep, month: Month = None) -> dict:
    _bulk(user)
    return key_accounts(services).visits.generate(user, month)


@router.post("/return-visits/escalate")
def escalate_return_visits(user: CurrentUser, services: ServicesDep) -> dict:
    _bulk(user)
    return {"escalated": key_accounts(services).visits.escalate_overdue(user)}


@router.post("/return-visits/{task_id}/complete")
def complete_return_visit(task_id: RowId, body: VisitDoneIn,
                          user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).visits.complete(user, task_id, body.outcome, body.on))


# -- opportunities ---------------------------------------------------------------------------
class OpportunityIn(BaseModel):
    customer_id: Ident
    group_id: Ident | None = None
    title: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[^\x00]*$")]
    expected_value: Money = Decimal(0)
    expected_close: Day | None = None


class ApplicationIn(BaseModel):
    application: Body
    expected_value: Money
    expected_close: Day


class PlanIn(BaseModel):
    plan: Body
    cash_flows: Annotated[list[Annotated[float, Field(ge=-1e12, le=1e12)]], Field(min_length=1, max_length=240)]
    discount_rate: Annotated[float, Field(ge=-0.99, le=10)]
    periods_per_year: Literal[1, 4, 12] = 1


class CloseIn(BaseModel):
    won: bool




@router.get("/opportunities")
def list_opportunities(user: CurrentUser, services: ServicesDep,
                       stage: Annotated[Literal["discovered", "application", "plan", "won", "lost"] | None,
                                        Query()] = None) -> list[dict]:
    return jsonable(key_accounts(services).opportunities.list(user, stage))


@router.post("/opportunities", status_code=201)
def create_opportunity(body: OpportunityIn, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).opportunities.create(user, **body.model_dump()))


@router.get("/opportunities/forecast")
def opportunity_forecast(user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).opportunities.forecast(user))


@router.post("/opportunities/discover")
def discover_opportunities(user: CurrentUser, services: ServicesDep,
                           month: Annotated[str, Query(pattern=MONTH_PATTERN)]) -> dict:
    _bulk(user)
    return key_accounts(services).opportunities.discover(user, month)


@router.get("/opportunities/{opportunity_id}")
def get_opportunity(opportunity_id: RowId, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).opportunities.get(user, opportunity_id))


@router.post("/opportunities/{opportunity_id}/application")
def opportunity_application(opportunity_id: RowId, body: ApplicationIn, user: CurrentUser,
                            services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).opportunities.apply(user, opportunity_id, **body.model_dump()))


@router.post("/opportunities/{opportunity_id}/plan")
def opportunity_plan(opportunity_id: RowId, body: PlanIn, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).opportunities.plan(user, opportunity_id, **body.model_dump()))


@router.post("/opportunities/{opportunity_id}/close")
def opportunity_close(opportunity_id: RowId, body: CloseIn, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).opportunities.close(user, opportunity_id, body.won))


# -- one-stop requests --------------------------------------------------------------------------
class RequestIn(BaseModel):
    customer_id: Ident
    group_id: Ident | None = None
    kind: Literal["inquiry", "order", "fault", "billing", "technical_support"]
    summary: Body
    route_to: Ident | None = None
    team: Ident | None = None


class StatusIn(BaseModel):
    status: Literal["routed", "in_progress", "resolved", "closed"]
    route_to: Ident | None = None
    team: Ident | None = None
    resolution: Annotated[str, Field(max_length=4000, pattern=r"^[^\x00]*$")] = ""


@router.get("/one-stop")
def list_requests(user: CurrentUser, services: ServicesDep, open_only: bool = False) -> list[dict]:
    return jsonable(key_accounts(services).one_stop.list(user, open_only))


@router.post("/one-stop", status_code=201)
def log_request(body: RequestIn, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).one_stop.log(user, **body.model_dump()))


@router.post("/one-stop/{request_id}/status")
def move_request(request_id: RowId, body: StatusIn, user: CurrentUser,
                 services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).one_stop.move(user, request_id, body.status, route_to=body.route_to,
                                                         team=body.team, resolution=body.resolution))


# -- loyalty points --------------------------------------------------------------------------
class AccountIn(BaseModel):
    customer_id: Ident
    account_id: Ident | None = None
    card_grade: Literal["diamond", "gold", "silver", "none"] | None = None


class PostingIn(BaseModel):
    points: Points
    on: Day | None = None
    reference: Annotated[str, Field(max_length=255, pattern=r"^[^\x00]*$")] = ""


@router.post("/points", status_code=201)
def open_points_account(body: AccountIn, user: CurrentUser, services: ServicesDep) -> dict:
    return {"account_id": key_accounts(services).points.open_account(user, **body.model_dump())}


@router.get("/points/{account_id}")
def points_statement(account_id: Key, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(key_accounts(services).points.statement(user, account_id))


@router.post("/points/{account_id}/earn")
def earn_points(account_id: Key, body: PostingIn, user: CurrentUser, services: ServicesDep) -> list[dict]:
    _bulk(user)  # a manual credit is not an account manager's to give
    return key_accounts(services).points.earn(user, account_id, body.points, body.on, body.reference)


@router.post("/points/{account_id}/redeem")
def redeem_points(account_id: Key, body: PostingIn, user: CurrentUser, services: ServicesDep) -> list[dict]:
    return key_accounts(services).points.redeem(user, account_id, body.points, body.on, body.reference)
