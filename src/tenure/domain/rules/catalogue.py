"""Rule definitions: the YAML format analysts write, validated with clear errors.

A rules file holds a list of rules under ``rules:``::

    rules:
      - id: gd_spend_decline
        name: {en: Spend down 3 months running, zh: 连续3个月消费下降}
        family: retention
        scope: subscriber
        expression: declined_months(arpu, 3, 0.2) >= 3
        severity: high
        reason:
          en: "ARPU down more than 20% for {declined_months(arpu, 3, 0.2)} months; now {arpu} yuan"
          zh: "ARPU连续{declined_months(arpu, 3, 0.2)}个月下降超过20%，当前{arpu}元"
        enabled: true
        version: 1
        tags: [guangdong]
        description: Guangdong high-risk criterion.

Every problem found is reported with the file, the rule id and the field,
and for expressions the line and column inside the expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from tenure.domain.errors import InputError, RuleSyntaxError
from tenure.domain.rules import ast
from tenure.domain.rules.parser import parse
from tenure.domain.rules.template import Template, check_template, parse_template
from tenure.domain.rules.typecheck import SCOPES, Schema, check_condition, schema_for

FAMILIES: dict[str, str] = {
    "retention": "挽留",
    "maintenance": "维系",
    "value_uplift": "价值提升",
    "prevention": "防范",
}
FAMILY_PRIORITY: tuple[str, ...] = ("retention", "prevention", "value_uplift", "maintenance")
"""The families from the most urgent: a subscriber's top family when two have as many warnings.

A customer about to leave (retention) comes before a risk to prevent, an
opportunity (value uplift) and the care of a good customer (maintenance)."""
SEVERITIES = ("low", "medium", "high", "critical")
LANGUAGES = ("en", "zh")
RULE_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
FIELDS = (
    "id", "name", "family", "scope", "expression", "severity", "reason",
    "enabled", "version", "tags", "description",
)


@dataclass(frozen=True)
class Rule:
    """One early-warning rule, parsed and checked."""

    id: str
    name: Mapping[str, str]
    family: str
    scope: str
    expression: str
    severity: str
    reason: Mapping[str, str]
    enabled: bool = True
    version: int = 1
    tags: tuple[str, ...] = ()
    description: str = ""
    source: str = ""
    node: ast.Node = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    reasons: Mapping[str, Template] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        """Column that identifies an entity for this rule's scope."""
        return "group_id" if self.scope == "group" else "subscriber_id"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": dict(self.name),
            "family": self.family,
            "scope": self.scope,
            "expression": self.expression,
            "severity": self.severity,
            "reason": dict(self.reason),
            "enabled": self.enabled,
            "version": self.version,
            "tags": list(self.tags),
            "description": self.description,
            "source": self.source,
        }


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule definition."""

    source: str
    rule_id: str | None
    field: str
    message: str
    line: int | None = None
    column: int | None = None
    expression: str | None = None
    file_line: int | None = None
    """Line of the file where the rule (or, for a position inside a text, that field's value) starts."""

    def caret(self) -> str:
        """The offending expression line with a caret under the column."""
        if not self.expression or self.line is None or self.column is None:
            return ""
        lines = self.expression.split("\n")
        text = lines[self.line - 1] if 0 < self.line <= len(lines) else self.expression
        return f"{text}\n{' ' * (self.column - 1)}^"

    def __str__(self) -> str:
        where = f"{self.source}: rule '{self.rule_id}'" if self.rule_id else self.source
        if self.line is not None and self.file_line is not None:
            # A reason text's problems are placed inside the placeholder's expression.
            what = f"placeholder in {self.field}" if self.field.startswith("reason") else self.field
            pos = f" (line {self.line}, column {self.column} of the {what}, which starts on line {self.file_line} of the file)"
        elif self.line is not None:
            pos = f" (line {self.line}, column {self.column})"
        else:
            pos = f" (line {self.file_line} of the file)" if self.file_line is not None else ""
        return f"{where}: field '{self.field}': {self.message}{pos}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rule_id": self.rule_id,
            "field": self.field,
            "message": self.message,
            "line": self.line,
            "column": self.column,
            "expression": self.expression,
            "file_line": self.file_line,
        }


class RuleDefinitionError(InputError):
    """A rules file has problems; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = str(problems[0]) if problems else "invalid rules"
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(head + more)


def _bilingual(value: Any, field_name: str, problems: list[Problem], ctx: tuple[str, str | None]) -> dict[str, str]:
    if not isinstance(value, Mapping):
        problems.append(Problem(ctx[0], ctx[1], field_name, "must be a mapping with 'en' and 'zh' texts"))
        return {}
    out: dict[str, str] = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(ctx[0], ctx[1], f"{field_name}.{lang}", "missing or empty text"))
        else:
            out[lang] = text
    extra = set(value) - set(LANGUAGES)
    if extra:
        problems.append(Problem(ctx[0], ctx[1], field_name, f"unknown language(s) {sorted(extra)}: use en and zh"))
    return out


def rule_from_dict(data: Any, source: str = "", schema: Schema | None = None) -> tuple[Rule | None, list[Problem]]:
    """Validate one rule mapping; return the rule (or None) and every problem found.

    ``schema`` defaults to the contract schema of the rule's scope.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return None, [Problem(source, None, "rule", "each rule must be a mapping of fields")]
    rid = data.get("id")
    rule_id = rid if isinstance(rid, str) else None
    ctx = (source, rule_id)

    def bad(field_name: str, message: str, **kw: Any) -> None:
        problems.append(Problem(source, rule_id, field_name, message, **kw))

    if not isinstance(rid, str) or not RULE_ID.match(rid):
        bad("id", "must be 2-64 characters: lower-case letters, digits and '_', starting with a letter")
    unknown = set(data) - set(FIELDS)
    for f in sorted(unknown, key=str):
        bad(str(f), f"unknown field{_close(str(f), FIELDS)}")
    name = _bilingual(data.get("name"), "name", problems, ctx)
    family = data.get("family")
    if family not in FAMILIES:
        bad("family", f"must be one of {', '.join(FAMILIES)}, got {family!r}")
    scope = data.get("scope", "subscriber")
    if scope not in SCOPES:
        bad("scope", f"must be one of {', '.join(SCOPES)}, got {scope!r}")
    severity = data.get("severity")
    if severity not in SEVERITIES:
        bad("severity", f"must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        bad("enabled", f"must be true or false, got {enabled!r}")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        bad("version", f"must be a whole number >= 1, got {version!r}")
    tags = data.get("tags", []) or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        bad("tags", "must be a list of strings")
        tags = []
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        bad("description", "must be a string")
        description = ""
    reason = _bilingual(data.get("reason"), "reason", problems, ctx)

    expression = data.get("expression")
    node: ast.Node | None = None
    if not isinstance(expression, str) or not expression.strip():
        bad("expression", "missing or empty")
    else:
        use_schema = schema or (schema_for(scope) if scope in SCOPES else None)
        try:
            node = parse(expression)
            if use_schema is not None:
                check_condition(node, use_schema, expression)
        except RuleSyntaxError as exc:
            bad("expression", exc.message, line=exc.line, column=exc.column, expression=expression)
            node = None
    templates: dict[str, Template] = {}
    for lang, text in reason.items():
        try:
            tpl = parse_template(text)
            use_schema = schema or (schema_for(scope) if scope in SCOPES else None)
            if use_schema is not None:
                check_template(tpl, use_schema)
            templates[lang] = tpl
        except RuleSyntaxError as exc:
            bad(f"reason.{lang}", exc.message, line=exc.line, column=exc.column, expression=exc.expression or text)
    if problems or node is None:
        return None, problems
    rule = Rule(
        id=str(rid),
        name=name,
        family=str(family),
        scope=str(scope),
        expression=expression.strip(),  # type: ignore[union-attr]
        severity=str(severity),
        reason=reason,
        enabled=bool(enabled),
        version=int(version),
        tags=tuple(tags),
        description=description.strip(),
        source=source,
        node=node,
        reasons=templates,
    )
    return rule, []


def _close(word: str, options: Iterable[str]) -> str:
    from tenure.domain.rules.typecheck import suggest

    return suggest(word, options)


def parse_rules_yaml(
    text: str, source: str = "", schemas: Mapping[str, Schema] | None = None
) -> tuple[list[Rule], list[Problem]]:
    """Read a rules file's text: the valid rules and every problem found.

    ``schemas`` (scope -> Schema) defaults to the contract schema of each scope.
    """
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return [], [Problem(source, None, "yaml", f"not valid YAML: {getattr(exc, 'problem', exc)}"
                            + (f" at line {line}" if line else ""))]
    if doc is None:
        return [], []
    items = doc.get("rules") if isinstance(doc, Mapping) else doc
    if not isinstance(items, list):
        return [], [Problem(source, None, "rules", "the file must hold a list of rules under 'rules:'")]
    rules: list[Rule] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    lines = _item_lines(text)
    for n, item in enumerate(items):
        scope = item.get("scope", "subscriber") if isinstance(item, Mapping) else None
        schema = schemas.get(scope) if schemas is not None and isinstance(scope, str) else None
        rule, found = rule_from_dict(item, source, schema)
        starts = lines[n] if n < len(lines) else {}
        for problem in found:
            top = problem.field.split(".")[0]
            problems.append(replace(problem, file_line=starts.get(problem.field, starts.get(top, starts.get("")))))
        rule_id = item.get("id") if isinstance(item, Mapping) else None
        if isinstance(rule_id, str):
            # A repeated id is reported whatever else is wrong with either rule.
            if rule_id in seen:
                problems.append(Problem(source, rule_id, "id", "duplicate rule id in this file",
                                        file_line=starts.get("id", starts.get(""))))
                continue
            seen.add(rule_id)
        if rule is not None:
            rules.append(rule)
    return rules, problems


def _item_lines(text: str) -> list[dict[str, int]]:
    """Per rule of the file, the 1-based line where it starts ("") and where each field's value starts.

    A block scalar (``expression: >-``) starts on the line after its indicator.
    """
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    seq = root
    if isinstance(root, yaml.MappingNode):
        seq = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "rules"), None)
    if not isinstance(seq, yaml.SequenceNode):
        return []
    out: list[dict[str, int]] = []
    for item in seq.value:
        starts = {"": item.start_mark.line + 1}
        if isinstance(item, yaml.MappingNode):
            _field_lines(item, "", starts)
        out.append(starts)
    return out


def _field_lines(node: yaml.MappingNode, prefix: str, starts: dict[str, int]) -> None:
    """Record the line each value of ``node`` starts on, nested fields as ``reason.en``."""
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode):
            continue
        name = f"{prefix}{k.value}"
        block = isinstance(v, yaml.ScalarNode) and v.style in ("|", ">")
        starts[name] = v.start_mark.line + 1 + (1 if block else 0)
        if isinstance(v, yaml.MappingNode):
            _field_lines(v, f"{name}.", starts)


def overlay(*layers: Iterable[Rule]) -> list[Rule]:
    """Merge rule lists; a later layer's rule replaces an earlier one with the same id.

    The order is that of first appearance, so shipped rules keep their place.
    """
    merged: dict[str, Rule] = {}
    for layer in layers:
        for rule in layer:
            merged[rule.id] = rule
    return list(merged.values())
