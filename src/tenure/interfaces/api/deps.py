"""FastAPI dependencies as ``Annotated`` aliases: a route signature says what it needs."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tenure.bootstrap import Services
from tenure.domain.errors import AuthenticationFailed, PermissionDenied
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.services.auth import Principal

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

bearer = HTTPBearer(auto_error=False, description="An API token created by an administrator (tnr_...).")


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_uow(services: ServicesDep) -> UnitOfWorkFactory:
    return services.uow


UowDep = Annotated[UnitOfWorkFactory, Depends(get_uow)]


def csrf_token(request: Request) -> str:
    """The synchroniser token of this browser session (created on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, presented: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not presented or not hmac.compare_digest(str(expected), str(presented)):
        raise PermissionDenied("the form or request is missing a valid CSRF token; reload the page and try again")


def session_principal(request: Request, services: Services) -> Principal | None:
    user_id = request.session.get("user_id")
    if user_id is None:
        return None
    try:
        return services.auth.principal_for(int(user_id))
    except AuthenticationFailed:
        request.session.clear()
        return None


def api_principal(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    """Bearer token, or the browser session plus the CSRF header on changes."""
    if credentials is not None:
        return services.auth.principal_for_token(credentials.credentials)
    principal = session_principal(request, services)
    if principal is None:
        raise AuthenticationFailed("sign in or send an API token (Authorization: Bearer ...)")
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return principal


CurrentUser = Annotated[Principal, Depends(api_principal)]


# Store row ids are 32-bit on every supported database; a larger id in a URL is
# a bad request (422), not a database overflow (500).
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
