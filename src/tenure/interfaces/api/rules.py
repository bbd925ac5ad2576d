"""Rules in the JSON API: catalogue, check, save a version, versions, test."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tenure.domain.model import MONTH_PATTERN
from tenure.interfaces.api.deps import CurrentUser, ServicesDep
from tenure.services.customers import jsonable
from tenure.services.rule_edits import check_expression

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])


class ExpressionIn(BaseModel):
    expression: Annotated[str, Field(max_length=4000)]
    scope: Literal["subscriber", "group"] = "subscriber"


class RuleEdit(BaseModel):
    expression: Annotated[str, Field(max_length=4000)]
    comment: Annotated[str, Field(max_length=500)] = ""


class RuleTest(BaseModel):
    month: Annotated[str, Field(pattern=MONTH_PATTERN)]
    expression: Annotated[str | None, Field(max_length=4000)] = None


@router.get("")
def list_rules(user: CurrentUser, services: ServicesDep) -> list[dict]:
    return [r.to_dict() for r in services.rules.catalogue(user)]


@router.post("/check")
def check(body: ExpressionIn, user: CurrentUser) -> dict:
    """Check an expression; a syntax error answers 422 with its line and column."""
    check_expression(body.expression, body.scope)
    return {"ok": True}


@router.get("/{rule_id}")
def get_rule(rule_id: str, user: CurrentUser, services: ServicesDep) -> dict:
    return services.rules.rule(user, rule_id).to_dict()


@router.put("/{rule_id}")
def save_rule(rule_id: str, body: RuleEdit, user: CurrentUser, services: ServicesDep) -> dict:
    return services.rules.save(user, rule_id, body.expression, body.comment).to_dict()


@router.get("/{rule_id}/versions")
def versions(rule_id: str, user: CurrentUser, services: ServicesDep) -> list[dict]:
    return jsonable([asdict(v) for v in services.rules.versions(user, rule_id)])


@router.post("/{rule_id}/test")
def test(rule_id: str, body: RuleTest, user: CurrentUser, services: ServicesDep) -> dict:
    return jsonable(services.rules.test(user, rule_id, body.month, body.expression))
