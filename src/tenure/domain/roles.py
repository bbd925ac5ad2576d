"""Roles and what each may do.

One table maps a role to its permissions; every check in services and
interfaces asks :func:`allows` rather than comparing role names, so a change
of policy is a change to this table only.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum


class Role(str, Enum):
    """The roles of Tenure's users (see the product brief, "Users and their jobs")."""

    ADMINISTRATOR = "administrator"
    ANALYST = "analyst"
    RETENTION_MANAGER = "retention_manager"
    CHANNEL_OWNER = "channel_owner"
    ACCOUNT_MANAGER = "account_manager"
    COMMUNITY_MANAGER = "community_manager"
    VIEWER = "viewer"


class Permission(str, Enum):
    """Things a role may be allowed to do."""

    VIEW_DASHBOARD = "view_dashboard"
    VIEW_CUSTOMERS = "view_customers"
    VIEW_ALL_CUSTOMERS = "view_all_customers"  # without it, only the caller's portfolio
    SEE_PII = "see_pii"  # unmasked phone and ID numbers
    VIEW_RULES = "view_rules"
    EDIT_RULES = "edit_rules"
    MANAGE_USERS = "manage_users"
    MANAGE_ASSIGNMENTS = "manage_assignments"
    MANAGE_TOKENS = "manage_tokens"
    VIEW_AUDIT = "view_audit"
    VIEW_MODELS = "view_models"  # the model registry, calibration and drift pages
    MANAGE_MODELS = "manage_models"  # promote a model version for scoring
    RAISE_WARNINGS = "raise_warnings"  # a manual early warning on a visible customer
    WITHDRAW_WARNINGS = "withdraw_warnings"  # withdraw anyone's manual warning (authors may always)


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.ANALYST: frozenset(
        {P.VIEW_DASHBOARD, P.VIEW_CUSTOMERS, P.VIEW_ALL_CUSTOMERS, P.VIEW_RULES, P.EDIT_RULES,
         P.VIEW_MODELS, P.MANAGE_MODELS}
    ),
    Role.RETENTION_MANAGER: frozenset(
        {P.VIEW_DASHBOARD, P.VIEW_CUSTOMERS, P.VIEW_ALL_CUSTOMERS, P.VIEW_RULES, P.MANAGE_ASSIGNMENTS,
         P.VIEW_MODELS, P.RAISE_WARNINGS, P.WITHDRAW_WARNINGS}
    ),
    # A channel owner sees the customers of the regions assigned to them.
    Role.CHANNEL_OWNER: frozenset({P.VIEW_DASHBOARD, P.VIEW_CUSTOMERS, P.VIEW_RULES, P.RAISE_WARNINGS}),
    # An account manager sees only the customers assigned to them.
    Role.ACCOUNT_MANAGER: frozenset({P.VIEW_DASHBOARD, P.VIEW_CUSTOMERS, P.RAISE_WARNINGS}),
    Role.VIEWER: frozenset({P.VIEW_DASHBOARD, P.VIEW_RULES}),
}
# A community manager (社区经理) works the community channel as an account manager works
# theirs: the same permissions, only the customers assigned to them and their own queue.
ROLE_PERMISSIONS[Role.COMMUNITY_MANAGER] = ROLE_PERMISSIONS[Role.ACCOUNT_MANAGER]


def parse_role(text: str) -> Role:
    """Return the role named ``text``; ValueError for an unknown name.

    >>> parse_role("analyst")
    <Role.ANALYST: 'analyst'>
    """
    try:
        return Role(text)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r}; one of {names}") from None


def permissions_of(role: Role | str, pii_roles: Iterable[str] = ("administrator",)) -> frozenset[Permission]:
    """Permissions of ``role``; ``see_pii`` goes to exactly the roles in ``pii_roles``.

    >>> Permission.SEE_PII in permissions_of("analyst", pii_roles=["analyst"])
    True
    >>> Permission.SEE_PII in permissions_of("administrator", pii_roles=[])
    False
    """
    role = parse_role(role) if isinstance(role, str) and not isinstance(role, Role) else role
    base = set(ROLE_PERMISSIONS[Role(role)]) - {Permission.SEE_PII}
    if Role(role).value in set(pii_roles):
        base.add(Permission.SEE_PII)
    return frozenset(base)


def allows(role: Role | str, permission: Permission, pii_roles: Iterable[str] = ("administrator",)) -> bool:
    """True when ``role`` holds ``permission``."""
    return permission in permissions_of(role, pii_roles)


def portfolio_scope(role: Role | str) -> str:
    """How far a role sees customers: ``all``, ``regions`` or ``customers`` (assigned only).

    >>> portfolio_scope("account_manager")
    'customers'
    >>> portfolio_scope("community_manager")
    'customers'
    """
    r = Role(role)
    if Permission.VIEW_ALL_CUSTOMERS in ROLE_PERMISSIONS[r]:
        return "all"
    if r is Role.CHANNEL_OWNER:
        return "regions"
    return "customers"
