"""Evaluation in the JSON API: a campaign's effect against its control group, snapshot retention."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from tenure.domain.errors import PermissionDenied
from tenure.domain.model import MONTH_PATTERN
from tenure.interfaces.api.deps import CurrentUser, ServicesDep
from tenure.services.auth import Principal
from tenure.services.evaluation import EvaluationService
from tenure.services.evaluation_breakdown import EvaluationBreakdown

router = APIRouter(prefix="/api/v1/evaluation", tags=["evaluation"])

EVALUATION_ROLES = ("administrator", "analyst", "retention_manager", "channel_owner")
"""Roles that see campaign results (the same that see campaigns)."""


def evaluation_service(services) -> EvaluationService:  # type: ignore[no-untyped-def]
    s = services.settings
    return EvaluationService(services.warehouse, services.uow, threads=s.duckdb_threads,
                             memory_limit=s.duckdb_memory_limit)


def check_evaluation_reader(user: Principal) -> None:
    if user.role not in EVALUATION_ROLES:
        raise PermissionDenied(f"{user.name} ({user.role}) may not see campaign evaluations")


@router.get("/campaigns/{campaign_id}")
def campaign_effect(campaign_id: str, user: CurrentUser, services: ServicesDep,
                    month: Annotated[str, Query(pattern=MONTH_PATTERN)]) -> dict:
    """Treated (everyone selected) against control for a campaign planned in ``month``, 1-3 months on."""
    check_evaluation_reader(user)
    return evaluation_service(services).campaign_effect(campaign_id, month)


@router.get("/snapshot")
def snapshot_retention(user: CurrentUser, services: ServicesDep,
                       month: Annotated[str, Query(pattern=MONTH_PATTERN)]) -> dict:
    """Retention of the core customers of ``month`` (拍照保有率) and the bundling rate by month."""
    check_evaluation_reader(user)
    return evaluation_service(services).snapshot_retention(month)


BreakdownKind = Literal["segments", "channels", "executors", "strategies"]


def breakdown_service(services) -> EvaluationBreakdown:  # type: ignore[no-untyped-def]
    s = services.settings
    return EvaluationBreakdown(services.warehouse, services.uow, threads=s.duckdb_threads,
                               memory_limit=s.duckdb_memory_limit)


def breakdown_scope(user: Principal, kind: str) -> int | None:
    """Whose rows ``user`` may see in breakdown ``kind``: ``None`` for all; else the one executor id.

    The evaluation roles see everything. A person with a queue of their own (account manager,
    community manager) sees only their own executor row (their contact, success and kept-rate
    against the fair control) and no other breakdown: segment, channel and strategy results
    describe the whole programme, not one portfolio.
    """
    from tenure.services.execution import QUEUE_ROLES

    if user.role in EVALUATION_ROLES:
        return None
    if user.role in QUEUE_ROLES and kind == "executors":
        return user.user_id
    raise PermissionDenied(f"{user.name} ({user.role}) may not see the {kind} evaluation")


@router.get("/breakdown/{kind}")
def breakdown(kind: BreakdownKind, user: CurrentUser, services: ServicesDep,
              month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
              horizon: Annotated[int, Query(ge=1, le=12)] = 1) -> dict:
    """Segment, channel or executor evaluation of the plan of ``month``, followed ``horizon`` months on;
    strategies per segment per yuan (``month`` omitted: every evaluable month pooled)."""
    scope = breakdown_scope(user, kind)
    return breakdown_service(services).breakdown(kind, month, horizon, assignee_id=scope)
