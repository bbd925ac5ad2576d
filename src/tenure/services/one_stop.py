"""One-stop service (一站式服务): one point for inquiry, order, fault, billing and
technical support; each request is logged, routed to a person or team and
tracked to closure with the time of every status change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.engines.store.enterprise_models import OneStopRequest
from tenure.engines.store.enterprise_repositories import OneStopRepository
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services import audit
from tenure.services.auth import Principal
from tenure.services.key_accounts import Clock, actor_name, aware, check_visible, portfolio, utc_now

KINDS = ("inquiry", "order", "fault", "billing", "technical_support")
STATUSES = ("logged", "routed", "in_progress", "resolved", "closed")
# Where a request goes when nobody names a person or team.
DEFAULT_TEAMS: Mapping[str, str] = {
    "inquiry": "service_desk", "order": "provisioning", "fault": "network_operations",
    "billing": "billing", "technical_support": "technical_support",
}
# Allowed moves: forward only; routing again (re-assignment) is allowed until resolved.
NEXT = {
    "logged": {"routed"},
    "routed": {"routed", "in_progress", "resolved"},
    "in_progress": {"routed", "resolved"},
    "resolved": {"closed", "in_progress"},
    "closed": set(),
}
STAMP = {"routed": "routed_at", "in_progress": "started_at", "resolved": "resolved_at", "closed": "closed_at"}


def request_view(r: OneStopRequest) -> dict[str, Any]:
    hours = None
    logged, closed = aware(r.logged_at), aware(r.closed_at)
    if closed is not None and logged is not None:
        hours = round((closed - logged).total_seconds() / 3600, 2)
    return {
        "id": r.id, "customer_id": r.customer_id, "group_id": r.group_id, "kind": r.kind, "summary": r.summary,
        "status": r.status, "routed_to": r.routed_to, "team": r.team, "logged_by": r.logged_by,
        "logged_at": logged, "routed_at": aware(r.routed_at), "started_at": aware(r.started_at),
        "resolved_at": aware(r.resolved_at), "closed_at": closed, "resolution": r.resolution,
        "hours_to_close": hours,
    }


class OneStopService:
    """Log, route and track one-stop requests."""

    def __init__(self, uow: UnitOfWorkFactory, teams: Mapping[str, str] | None = None,
                 clock: Clock = utc_now) -> None:
        self.uow = uow
        self.teams = {**DEFAULT_TEAMS, **(teams or {})}
        self.clock = clock

    def log(self, principal: Principal | None, *, customer_id: str, kind: str, summary: str,
            group_id: str | None = None, route_to: str | None = None, team: str | None = None) -> dict[str, Any]:
        """Log a request and route it at once (to ``route_to``/``team`` or the kind's default team)."""
        if kind not in KINDS:
            raise InputError(f"request kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not summary.strip():
            raise InputError("a request needs a summary")
        check_visible(principal, customer_id, f"customer {customer_id}")
        now = self.clock()
        with self.uow() as uow:
            assert uow.session is not None
            row = OneStopRepository(uow.session).add(OneStopRequest(
                customer_id=customer_id, group_id=group_id, kind=kind, summary=summary.strip(), status="routed",
                routed_to=route_to, team=team or self.teams[kind], logged_by=actor_name(principal), logged_at=now,
                routed_at=now, resolution="",
            ))
            view = request_view(row)
            audit.record(uow, actor_name(principal), "log_one_stop_request", "one_stop_request", str(row.id),
                         None, view)
            uow.commit()
            return view

    def move(self, principal: Principal | None, request_id: int, status: str, *, route_to: str | None = None,
             team: str | None = None, resolution: str = "") -> dict[str, Any]:
        """Change the status (stamping its time); ``routed`` re-assigns to ``route_to``/``team``."""
        if status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        with self.uow() as uow:
            assert uow.session is not None
            row = OneStopRepository(uow.session).get(request_id, portfolio(principal))
            if row is None:
                raise NotFound(f"no one-stop request {request_id}")
            if status not in NEXT[row.status]:
                raise Conflict(f"request {request_id} is {row.status}; it cannot become {status}")
            before = request_view(row)
            row.status = status
            setattr(row, STAMP[status], self.clock())
            if status == "routed":
                row.routed_to, row.team = route_to or row.routed_to, team or row.team
            if resolution:
                row.resolution = resolution
            view = request_view(row)
            audit.record(uow, actor_name(principal), f"one_stop_{status}", "one_stop_request", str(row.id),
                         {"status": before["status"]}, {"status": status, "routed_to": row.routed_to,
                                                         "team": row.team})
            uow.commit()
            return view

    def get(self, principal: Principal | None, request_id: int) -> dict[str, Any]:
        with self.uow() as uow:
            assert uow.session is not None
            row = OneStopRepository(uow.session).get(request_id, portfolio(principal))
            if row is None:
                raise NotFound(f"no one-stop request {request_id}")
            return request_view(row)

    def list(self, principal: Principal | None, open_only: bool = False,
             group_id: str | None = None) -> list[dict[str, Any]]:
        with self.uow() as uow:
            assert uow.session is not None
            return [request_view(r) for r in
                    OneStopRepository(uow.session).list(portfolio(principal), open_only, group_id=group_id)]
