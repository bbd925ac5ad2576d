"""The analysts' rule language: grammar, syntax tree, printer, types, catalogue.

Parse with :func:`parse`, check with :func:`check_condition` against a
:class:`Schema`, print canonically with :func:`to_text`, evaluate one row with
:func:`evaluate`. Rules compile to Ibis in ``tenure.analytics.rules``.
"""

from tenure.domain.rules import ast
from tenure.domain.rules.catalogue import (
    FAMILIES,
    SEVERITIES,
    Problem,
    Rule,
    RuleDefinitionError,
    overlay,
    parse_rules_yaml,
    rule_from_dict,
)
from tenure.domain.rules.evaluate import evaluate
from tenure.domain.rules.functions import FUNCTIONS, Function
from tenure.domain.rules.parser import parse
from tenure.domain.rules.printer import to_text
from tenure.domain.rules.template import Template, format_number, parse_template
from tenure.domain.rules.typecheck import (
    Schema,
    check_condition,
    infer_type,
    schema_for,
    schema_from_columns,
)

__all__ = [
    "FAMILIES",
    "FUNCTIONS",
    "SEVERITIES",
    "Function",
    "Problem",
    "Rule",
    "RuleDefinitionError",
    "Schema",
    "Template",
    "ast",
    "check_condition",
    "evaluate",
    "format_number",
    "infer_type",
    "overlay",
    "parse",
    "parse_rules_yaml",
    "parse_template",
    "rule_from_dict",
    "schema_for",
    "schema_from_columns",
    "to_text",
]
