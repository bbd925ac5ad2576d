"""Editing early-warning rules from the web application, with versions and audit.

The rule language and catalogue belong to ``tenure.domain.rules`` and
``tenure.services.rules``; this module adds who changed what: every saved
expression is a numbered version in the store, recorded in the audit log, and
the live definition is written to ``<home>/rules/web-edits.yaml`` so the
monthly cycle, which reads the catalogue, uses it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from tenure.config import Settings
from tenure.domain.errors import Conflict, RuleSyntaxError
from tenure.domain.roles import Permission
from tenure.domain.rules import Rule, check_condition, parse, rule_from_dict, schema_for
from tenure.engines.store.models import RuleVersion
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services import audit
from tenure.services import rules as rules_service
from tenure.services.auth import Principal

EDITS_FILE = "web-edits.yaml"


@dataclass(frozen=True)
class VersionView:
    version: int
    expression: str
    changed_by: str
    changed_at: datetime
    comment: str


def check_expression(expression: str, scope: str = "subscriber") -> None:
    """Parse and type-check ``expression``; RuleSyntaxError with line and column when it is wrong."""
    if not expression.strip():
        raise RuleSyntaxError("the expression is empty", 1, 1, expression)
    node = parse(expression)
    check_condition(node, schema_for(scope), expression)


class RuleEditService:
    def __init__(self, settings: Settings, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.settings = settings
        self.uow_factory = uow_factory
        self._cache: tuple[tuple, list[Rule]] | None = None

    def _catalogue(self) -> list[Rule]:
        """The catalogue, parsed again only when a rules file changed (parsing every request is slow)."""
        dirs = [rules_service.SHIPPED_RULES_DIR, rules_service.user_rules_dir(self.settings)]
        files = sorted(p for d in dirs if d.is_dir() for p in list(d.glob("*.yaml")) + list(d.glob("*.yml")))
        key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        cached = self._cache
        if cached is not None and cached[0] == key:
            return cached[1]
        rules = rules_service.catalogue_for(self.settings)
        self._cache = (key, rules)
        return rules

    @property
    def edits_path(self) -> Path:
        return rules_service.user_rules_dir(self.settings) / EDITS_FILE

    def catalogue(self, principal: Principal) -> list[Rule]:
        principal.require(Permission.VIEW_RULES)
        return rules_service.list_rules(self._catalogue())

    def rule(self, principal: Principal, rule_id: str) -> Rule:
        principal.require(Permission.VIEW_RULES)
        return rules_service.get_rule(self._catalogue(), rule_id)

    def versions(self, principal: Principal, rule_id: str) -> list[VersionView]:
        principal.require(Permission.VIEW_RULES)
        with self.uow_factory() as uow:
            return [VersionView(v.version, v.expression, v.changed_by, v.changed_at, v.comment)
                    for v in uow.rule_versions.versions(rule_id)]

    def save(self, principal: Principal, rule_id: str, expression: str, comment: str = "") -> Rule:
        """Check and save a new expression for ``rule_id`` as its next version."""
        principal.require(Permission.EDIT_RULES)
        current = rules_service.get_rule(self._catalogue(), rule_id)
        user_dir = rules_service.user_rules_dir(self.settings).resolve()
        source = Path(current.source).resolve() if current.source else None
        if source is not None and source.parent == user_dir and source.name != EDITS_FILE:
            raise Conflict(f"rule '{rule_id}' is defined in {current.source}; edit that file instead")
        expression = expression.replace("\r\n", "\n").strip()
        try:
            check_expression(expression, current.scope)
        except RuleSyntaxError as exc:
            raise RuleSyntaxError(exc.message, exc.line, exc.column, expression) from None
        if expression == current.expression:
            return current
        data = current.to_dict()
        data.pop("source", None)
        with self.uow_factory() as uow:
            latest = uow.rule_versions.latest(rule_id)
            version = max(current.version, latest.version if latest else 0) + 1
            data.update(expression=expression, version=version)
            rule, problems = rule_from_dict(data, str(self.edits_path))
            if rule is None or problems:
                p = problems[0]
                raise RuleSyntaxError(p.message, p.line or 1, p.column or 1, expression)
            if latest is None:
                # Keep the version we started from, so the history shows the original too.
                uow.rule_versions.add(RuleVersion(
                    rule_id=rule_id, version=current.version, expression=current.expression,
                    definition=current.to_dict(), changed_by="catalogue", changed_at=datetime.now(UTC),
                    comment="as shipped"))
            uow.rule_versions.add(RuleVersion(
                rule_id=rule_id, version=version, expression=expression, definition=data,
                changed_by=principal.name, changed_at=datetime.now(UTC), comment=comment[:500]))
            audit.record(uow, principal.name, "rule.update", "rule", rule_id,
                         {"expression": current.expression, "version": current.version},
                         {"expression": expression, "version": version, "comment": comment[:500]})
            previous = self.edits_path.read_bytes() if self.edits_path.exists() else None
            self._write_edit(data)
            try:
                uow.commit()
            except BaseException:
                # The live file must not carry a change the store did not record.
                if previous is None:
                    self.edits_path.unlink(missing_ok=True)
                else:
                    self.edits_path.write_bytes(previous)
                raise
        return rule

    def test(self, principal: Principal, rule_id: str, month: str, expression: str | None = None) -> dict[str, Any]:
        """How many subscribers the rule (or a draft expression of it) matches in ``month``."""
        principal.require(Permission.VIEW_RULES)
        from tenure.engines.compute import connect

        rule = self.rule(principal, rule_id)
        if expression is not None and expression.strip() != rule.expression:
            check_expression(expression, rule.scope)
            data = rule.to_dict()
            data.pop("source", None)
            data["expression"] = expression.strip()
            draft, problems = rule_from_dict(data, "draft")
            if draft is None or problems:
                p = problems[0]
                raise RuleSyntaxError(p.message, p.line or 1, p.column or 1, expression)
            rule = draft
        engine = connect(self.settings)
        try:
            # The month's population as `tenure rules test` reads it: subscribers still on the network.
            history = rules_service.month_population(self.settings, engine, month, rule.scope)
            result = rules_service.test_rule(rule, history, rules_service.month_end(month))
        finally:
            engine.close()
        return result.to_dict()

    def _write_edit(self, data: dict) -> None:
        path = self.edits_path
        path.parent.mkdir(parents=True, exist_ok=True)
        doc: dict = {"rules": []}
        if path.exists():
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {"rules": []}
        rules = [r for r in doc.get("rules", []) if r.get("id") != data["id"]]
        rules.append({k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()})
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text("# Rules edited in the web application (versions and audit in the store).\n"
                       + yaml.safe_dump({"rules": rules}, allow_unicode=True, sort_keys=False), encoding="utf-8")
        os.replace(tmp, path)


def month_end(month: str) -> date:
    return rules_service.month_end(month)
