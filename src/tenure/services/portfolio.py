"""Portfolio visibility: which customers a caller may see, as a filter inside the query.

Every read of customers goes through :func:`visibility`, which returns a SQL
predicate and its parameters; callers put it in their WHERE clause, so a
customer outside the portfolio is never read, let alone returned.
"""

from __future__ import annotations

from tenure.domain.errors import PermissionDenied
from tenure.domain.roles import Permission
from tenure.services.auth import Principal


def visibility(principal: Principal, customer_column: str = "customer_id",
               region_column: str | None = "region") -> tuple[str, list]:
    """``(predicate, params)`` limiting rows to the caller's portfolio."""
    principal.require(Permission.VIEW_CUSTOMERS)
    if principal.scope == "all":
        return "true", []
    if principal.scope == "regions":
        if region_column is None:
            raise PermissionDenied("region scope needs a region column")
        return f"list_contains(?::varchar[], {region_column})", [list(principal.regions)]
    return f"list_contains(?::varchar[], {customer_column})", [list(principal.customer_ids)]
