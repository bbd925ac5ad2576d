"""Rule pages: the catalogue by factor family, the editor with inline syntax errors, test and versions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenure.domain.errors import Conflict, NotFound, RuleSyntaxError, TenureError
from tenure.domain.model import MONTH_PATTERN
from tenure.domain.roles import Permission
from tenure.domain.rules import FAMILIES
from tenure.interfaces.api.deps import ServicesDep
from tenure.interfaces.web.pages import CsrfChecked, PageUser, render
from tenure.services.rule_edits import check_expression

router = APIRouter(include_in_schema=False)


def error_marks(expression: str, exc: RuleSyntaxError) -> dict:
    """The expression split around the error position, for the template to mark (autoescaped)."""
    lines = expression.split("\n")
    line = min(max(exc.line, 1), max(len(lines), 1))
    text = lines[line - 1] if lines else ""
    col = max(exc.column, 1) - 1
    return {
        "message": exc.message, "line": exc.line, "column": exc.column,
        "before_lines": lines[: line - 1], "after_lines": lines[line:],
        "before": text[:col], "at": text[col: col + 1] or " ", "after": text[col + 1:],
    }


@router.get("/rules", response_class=HTMLResponse)
def catalogue(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    rules = services.rules.catalogue(user)
    by_family = {f: [r for r in rules if r.family == f] for f in FAMILIES}
    return render(request, "rules.html", user, by_family=by_family)


def _rule_page(request: Request, user, services, rule_id: str, expression: str | None = None,  # type: ignore[no-untyped-def]
               error: dict | None = None, status_code: int = 200, saved: bool = False) -> HTMLResponse:
    rule = services.rules.rule(user, rule_id)
    versions = services.rules.versions(user, rule_id)
    months = services.warehouse.months("output", "features")
    return render(request, "rule.html", user, status_code=status_code, rule=rule,
                  expression=rule.expression if expression is None else expression, error=error,
                  versions=[asdict(v) for v in versions], months=list(reversed(months)), saved=saved,
                  can_edit=user.can(Permission.EDIT_RULES))


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, rule_id: str, user: PageUser, services: ServicesDep) -> HTMLResponse:
    return _rule_page(request, user, services, rule_id, saved=bool(request.query_params.get("saved")))


@router.post("/rules/{rule_id}", dependencies=[CsrfChecked])
def save_rule(
    request: Request, rule_id: str, user: PageUser, services: ServicesDep,
    expression: Annotated[str, Form(max_length=4000)], comment: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        services.rules.save(user, rule_id, expression, comment)
    except RuleSyntaxError as exc:
        return _rule_page(request, user, services, rule_id, expression, error_marks(expression, exc), 422)
    except Conflict as exc:
        return _rule_page(request, user, services, rule_id, expression,
                          {"message": str(exc), "line": None, "column": None}, 409)
    return RedirectResponse(f"/rules/{rule_id}?saved=1", status_code=303)


@router.post("/rules/{rule_id}/check", response_class=HTMLResponse, dependencies=[CsrfChecked])
def check_rule(
    request: Request, rule_id: str, user: PageUser, services: ServicesDep,
    expression: Annotated[str, Form(max_length=4000)],
) -> HTMLResponse:
    rule = services.rules.rule(user, rule_id)
    error = None
    try:
        check_expression(expression, rule.scope)
    except RuleSyntaxError as exc:
        error = error_marks(expression, exc)
    return render(request, "partials/rule_check.html", user, error=error, expression=expression)


@router.post("/rules/{rule_id}/test", response_class=HTMLResponse, dependencies=[CsrfChecked])
def test_rule(
    request: Request, rule_id: str, user: PageUser, services: ServicesDep,
    month: Annotated[str, Form(pattern=MONTH_PATTERN)], expression: Annotated[str | None, Form(max_length=4000)] = None,
) -> HTMLResponse:
    try:
        result, problem = services.rules.test(user, rule_id, month, expression), None
    except RuleSyntaxError as exc:
        result, problem = None, error_marks(expression or "", exc)
    except (NotFound, TenureError) as exc:
        result, problem = None, {"message": str(exc), "line": None, "column": None}
    return render(request, "partials/rule_test.html", user, result=result, error=problem, month=month)
