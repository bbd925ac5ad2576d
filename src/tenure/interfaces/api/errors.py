"""One table: error class -> HTTP status, for the API and the pages."""

from __future__ import annotations

from tenure.domain import errors

HTTP_STATUS: list[tuple[type[errors.TenureError], int]] = [
    (errors.RuleSyntaxError, 422),
    (errors.InputError, 422),
    (errors.AuthenticationFailed, 401),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.ConfigurationError, 500),
    (errors.EngineError, 503),
    (errors.TenureError, 400),
]


def status_for(exc: errors.TenureError) -> int:
    for cls, status in HTTP_STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def error_body(exc: errors.TenureError) -> dict:
    body: dict = {"error": type(exc).__name__, "detail": str(exc)}
    if isinstance(exc, errors.RuleSyntaxError):
        body.update(message=exc.message, line=exc.line, column=exc.column)
    return body
