"""The JSON API under /api/v1. Each route parses input, calls one service, returns its result."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from tenure.domain.model import MONTH_PATTERN
from tenure.domain.roles import Permission, Role
from tenure.interfaces.api.deps import CurrentUser, RowId, ServicesDep, UowDep
from tenure.services import audit
from tenure.services.customers import jsonable

router = APIRouter(prefix="/api/v1")

RoleName = Literal[tuple(r.value for r in Role)]  # type: ignore[valid-type]
LocaleName = Literal["zh_CN", "en"]
UserName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{2,64}$")]
Text = Annotated[str, Field(max_length=128, pattern=r"^[^\x00]*$")]
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]


class Me(BaseModel):
    name: str
    display_name: str
    role: str
    locale: str
    permissions: list[str]
    customers: list[str]
    regions: list[str]


class LocaleIn(BaseModel):
    locale: LocaleName


class UserIn(BaseModel):
    name: UserName
    role: RoleName
    password: Annotated[str | None, Field(min_length=8, max_length=256, pattern=r"^[^\x00]*$")] = None
    display_name: Text = ""
    locale: LocaleName | None = None


class UserPatch(BaseModel):
    role: RoleName | None = None
    display_name: Text | None = None
    active: bool | None = None
    locale: LocaleName | None = None
    password: Annotated[str | None, Field(min_length=8, max_length=256, pattern=r"^[^\x00]*$")] = None


class UserOut(BaseModel):
    name: str
    display_name: str
    role: str
    locale: str
    active: bool
    locked: bool
    customers: list[str]
    regions: list[str]


class AssignmentIn(BaseModel):
    customers: list[Ident] = Field(default_factory=list, max_length=1000)
    regions: list[Ident] = Field(default_factory=list, max_length=100)


class TokenIn(BaseModel):
    user: UserName
    label: Text


class TokenCreated(BaseModel):
    id: int
    token: str = Field(description="Shown once; only its hash is stored.")


class SearchHitOut(BaseModel):
    customer_id: str
    name: str | None
    customer_type: str | None
    region: str | None
    vip_card: str | None
    msisdn: str | None
    subscriptions: int


def _user_out(view: object) -> UserOut:
    return UserOut(**asdict(view))  # type: ignore[call-overload]


@router.get("/me", response_model=Me, tags=["account"])
def me(user: CurrentUser) -> Me:
    return Me(name=user.name, display_name=user.display_name, role=user.role, locale=user.locale,
              permissions=sorted(p.value for p in user.permissions), customers=list(user.customer_ids),
              regions=list(user.regions))


@router.put("/me/locale", response_model=UserOut, tags=["account"])
def set_locale(body: LocaleIn, user: CurrentUser, services: ServicesDep) -> UserOut:
    return _user_out(services.users.update(user, user.name, locale=body.locale))


@router.get("/dashboard", tags=["dashboard"])
def dashboard(
    user: CurrentUser, services: ServicesDep,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
) -> dict:
    return jsonable(services.dashboard.overview(user, month=month, region=region))


@router.get("/customers", response_model=list[SearchHitOut], tags=["customers"])
def search_customers(
    user: CurrentUser, services: ServicesDep,
    q: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[SearchHitOut]:
    return [SearchHitOut(**asdict(h)) for h in services.customers.search(user, q, limit)]


@router.get("/customers/{customer_id}", tags=["customers"])
def customer_360(customer_id: str, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(services.customers.customer_360(user, customer_id))


@router.get("/users", response_model=list[UserOut], tags=["administration"])
def list_users(user: CurrentUser, services: ServicesDep) -> list[UserOut]:
    return [_user_out(v) for v in services.users.list(user)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["administration"])
def add_user(body: UserIn, user: CurrentUser, services: ServicesDep) -> UserOut:
    return _user_out(services.users.add(user, body.name, body.role, password=body.password,
                                        display_name=body.display_name, locale=body.locale))


@router.get("/users/{name}", response_model=UserOut, tags=["administration"])
def get_user(name: str, user: CurrentUser, services: ServicesDep) -> UserOut:
    return _user_out(services.users.get(user, name))


@router.patch("/users/{name}", response_model=UserOut, tags=["administration"])
def update_user(name: str, body: UserPatch, user: CurrentUser, services: ServicesDep) -> UserOut:
    return _user_out(services.users.update(user, name, **body.model_dump(exclude_none=True)))


@router.post("/users/{name}/assignments", response_model=UserOut, tags=["administration"])
def assign(name: str, body: AssignmentIn, user: CurrentUser, services: ServicesDep) -> UserOut:
    return _user_out(services.users.assign(user, name, customers=body.customers, regions=body.regions))


@router.post("/users/{name}/assignments/remove", response_model=UserOut, tags=["administration"])
def unassign(name: str, body: AssignmentIn, user: CurrentUser, services: ServicesDep) -> UserOut:
    return _user_out(services.users.assign(user, name, customers=body.customers, regions=body.regions, remove=True))


@router.get("/tokens", tags=["administration"])
def list_tokens(user: CurrentUser, services: ServicesDep) -> list[dict]:
    return jsonable(services.auth.list_tokens(user))


@router.post("/tokens", response_model=TokenCreated, status_code=201, tags=["administration"])
def create_token(body: TokenIn, user: CurrentUser, services: ServicesDep) -> TokenCreated:
    token_id, clear = services.auth.create_token(user, body.user, body.label)
    return TokenCreated(id=token_id, token=clear)


@router.delete("/tokens/{token_id}", status_code=204, tags=["administration"])
def revoke_token(token_id: RowId, user: CurrentUser, services: ServicesDep) -> None:
    services.auth.revoke_token(user, token_id)


@router.get("/audit", tags=["administration"])
def audit_log(
    user: CurrentUser, uow: UowDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=128)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict]:
    user.require(Permission.VIEW_AUDIT)
    return jsonable([asdict(e) for e in audit.entries(uow(), limit, offset, object_type, object_id, actor)])
