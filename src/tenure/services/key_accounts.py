"""What the key-account services share: the caller's portfolio, the enterprise
configuration and working-day calendar of a Tenure home, and the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from tenure.domain.calendar import WorkingCalendar, load_calendar
from tenure.domain.errors import NotFound
from tenure.domain.grades_enterprise import EnterpriseConfig, load_enterprise_config
from tenure.domain.roles import Permission
from tenure.services.auth import Principal

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def portfolio(principal: Principal | None) -> tuple[str, ...] | None:
    """Customers the caller may see: ``None`` for all, else the enterprise customers assigned.

    A key-account manager's groups are the groups whose enterprise customer is in
    their portfolio. Region-scoped users see no store items (they carry no region).
    ``principal=None`` is the system itself (CLI, scheduled jobs).
    """
    if principal is None:
        return None
    principal.require(Permission.VIEW_CUSTOMERS)
    if principal.scope == "all":
        return None
    if principal.scope == "customers":
        return tuple(principal.customer_ids)
    return ()


def check_visible(principal: Principal | None, customer_id: str, what: str) -> None:
    """NotFound (not PermissionDenied: existence is not revealed) outside the portfolio."""
    scope = portfolio(principal)
    if scope is not None and customer_id not in scope:
        raise NotFound(f"no {what}")


def actor_name(principal: Principal | None) -> str:
    return principal.name if principal is not None else "system"


def enterprise_context(home: Path | None) -> tuple[EnterpriseConfig, WorkingCalendar]:
    """Configuration and calendar, with the operator's files under ``<home>/config`` when present."""
    if home is None:
        return load_enterprise_config(None), WorkingCalendar()
    config_dir = home / "config"
    override = config_dir / "enterprise.yaml"
    return load_enterprise_config(override if override.exists() else None), load_calendar(config_dir / "calendar.yaml")


def today_of(clock: Clock) -> date:
    return clock().date()


def aware(value: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; the store writes UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
