"""Early warning in the JSON API: the model registry (read, promote), manual warnings and churn reasons
of a customer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from tenure.domain.roles import Permission
from tenure.interfaces.api.deps import CurrentUser, RowId, ServicesDep
from tenure.services import model_report, models
from tenure.services.customers import jsonable
from tenure.services.manual_warnings import WarningService
from tenure.services.reasons_on_demand import ReasonService

router = APIRouter(prefix="/api/v1", tags=["early warning"])

ModelName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
ModelVersion = Annotated[str, Path(pattern=r"^v\d{4,8}$")]
CustomerId = Annotated[str, Path(min_length=1, max_length=64)]


def warning_service(services: Any) -> WarningService:
    return WarningService(services.uow, services.index, services.warehouse)


def reason_service(services: Any) -> ReasonService:
    return ReasonService(services.settings, services.customers)


# -- models ------------------------------------------------------------------------------------
@router.get("/models")
def list_models(user: CurrentUser, services: ServicesDep) -> dict:
    """Every registered version: target, horizon, training window, promoted, headline metrics."""
    user.require(Permission.VIEW_MODELS)
    return {"models": models.list_models(services.settings)}


def _model(services: Any, ident: str) -> dict:
    doc = model_report.model_page(services.settings, ident)
    return {**doc["card"], "importance": doc["importance"], "heldout": doc["reports"], "drift": doc["drift"],
            "drift_threshold": doc["threshold"]}


@router.get("/models/{name}")
def promoted_model(name: ModelName, user: CurrentUser, services: ServicesDep) -> dict:
    """The promoted version of ``name`` (else the newest), as ``/models/{name}/{version}``."""
    user.require(Permission.VIEW_MODELS)
    return _model(services, name)


@router.get("/models/{name}/{version}")
def model(name: ModelName, version: ModelVersion, user: CurrentUser, services: ServicesDep) -> dict:
    """One version: card (metrics, calibration, features, window, fingerprint), importance,
    held-out calibration reports, drift by scored month."""
    user.require(Permission.VIEW_MODELS)
    return _model(services, f"{name}/{version}")


@router.post("/models/{name}/{version}/promote")
def promote(name: ModelName, version: ModelVersion, user: CurrentUser, services: ServicesDep) -> dict:
    """Make this version the one the monthly cycle scores with (manage_models)."""
    return model_report.promote(services.settings, services.uow, user, f"{name}/{version}")


# -- manual warnings ---------------------------------------------------------------------------
class WarningIn(BaseModel):
    reason: str = Field(max_length=32, description="A code of the controlled list (GET .../warnings lists them).")
    severity: int = Field(ge=1, le=3, description="1 urgent, 2 high, 3 normal.")
    note: str = Field(default="", max_length=500)
    subscriber_id: str | None = Field(default=None, max_length=64)


@router.get("/customers/{customer_id}/warnings")
def customer_warnings(customer_id: CustomerId, user: CurrentUser, services: ServicesDep,
                      include_withdrawn: Annotated[bool, Query()] = True) -> dict:
    """The customer's manual and daily warnings, newest first (rule warnings: GET /customers/{id})."""
    return warning_service(services).for_customer(user, customer_id, include_withdrawn=include_withdrawn)


@router.post("/customers/{customer_id}/warnings", status_code=201)
def raise_warning(customer_id: CustomerId, body: WarningIn, user: CurrentUser, services: ServicesDep) -> dict:
    """Raise a warning on a customer of your portfolio (404 for anyone else's). Resending it is harmless."""
    return warning_service(services).raise_warning(user, customer_id, body.reason, body.severity, body.note,
                                                   body.subscriber_id)


@router.post("/customers/{customer_id}/warnings/{warning_id}/withdraw")
def withdraw_warning(customer_id: CustomerId, warning_id: RowId, user: CurrentUser, services: ServicesDep) -> dict:
    """Withdraw a manual warning: its author, or a retention manager."""
    return warning_service(services).withdraw(user, customer_id, warning_id)


# -- churn reasons -----------------------------------------------------------------------------
@router.get("/customers/{customer_id}/reasons")
def customer_reasons(customer_id: CustomerId, user: CurrentUser, services: ServicesDep,
                     subscriber_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None) -> dict:
    """Churn reasons of the customer's scored subscriptions (or of ``subscriber_id``): the stored ones of
    the customers acted on, else computed now with the model that scored the month; ``source`` says which."""
    return jsonable(reason_service(services).for_customer(user, customer_id, subscriber_id))
