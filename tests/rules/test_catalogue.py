"""Rule definitions: the shipped catalogue, validation messages, user overlay."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenure.domain.measures import (
    GROUP_ATTRIBUTES,
    GROUP_MEASURES,
    MONTHLY_MEASURES,
    SUBSCRIBER_ATTRIBUTES,
)
from tenure.domain.rules import FAMILIES, ast, check_condition, parse, parse_rules_yaml, schema_for
from tenure.domain.rules.catalogue import RuleDefinitionError
from tenure.services import rules as service

SHIPPED = sorted(service.SHIPPED_RULES_DIR.glob("*.yaml"))


def _rule(**overrides: object) -> dict:
    base = {
        "id": "my_rule",
        "name": {"en": "Mine", "zh": "我的"},
        "family": "retention",
        "scope": "subscriber",
        "expression": "arpu > 100",
        "severity": "high",
        "reason": {"en": "ARPU {arpu}", "zh": "ARPU {arpu}"},
        "enabled": True,
        "version": 1,
    }
    base.update(overrides)
    return base


def _yaml(*rules: dict) -> str:
    return yaml.safe_dump({"rules": list(rules)}, allow_unicode=True)


def test_shipped_files_exist_and_every_rule_parses_and_typechecks() -> None:
    assert {p.name for p in SHIPPED} >= {"retention.yaml", "maintenance.yaml", "value_uplift.yaml", "prevention.yaml"}
    for path in SHIPPED:
        rules, problems = parse_rules_yaml(path.read_text(encoding="utf-8"), path.name)
        assert problems == [], [str(p) for p in problems]
        for rule in rules:
            check_condition(parse(rule.expression), schema_for(rule.scope), rule.expression)


def test_shipped_catalogue_uses_only_contract_names() -> None:
    catalogue = service.load_catalogue()
    allowed = {
        "subscriber": set(MONTHLY_MEASURES) | set(SUBSCRIBER_ATTRIBUTES),
        "group": set(GROUP_MEASURES) | set(GROUP_ATTRIBUTES),
    }
    for rule in catalogue:
        nodes = list(rule.node.walk())
        for tpl in rule.reasons.values():
            for p in tpl.placeholders:
                nodes.extend(p.node.walk())
        used = {n.name for n in nodes if isinstance(n, ast.Name)}
        assert used <= allowed[rule.scope], (rule.id, used - allowed[rule.scope])


def test_shipped_catalogue_covers_the_families_and_the_spec_examples() -> None:
    catalogue = {r.id: r for r in service.load_catalogue()}
    assert {r.family for r in catalogue.values()} == set(FAMILIES)
    assert catalogue["gd_spend_decline"].expression == "declined_months(arpu, 3, 0.2) >= 3"
    assert catalogue["gd_other_op_ip_spend"].expression == "other_op_ip_spend > 50"
    assert "days_to(agreement_end_date) between 0 and 90" in catalogue["agreement_expiring"].expression
    groups = [r for r in catalogue.values() if r.scope == "group"]
    assert len(groups) >= 9
    for r in catalogue.values():
        assert r.reason["en"] and r.reason["zh"]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"family": "loyalty"}, "family", "must be one of retention"),
        ({"severity": "urgent"}, "severity", "must be one of low"),
        ({"scope": "household"}, "scope", "must be one of subscriber, group"),
        ({"name": {"en": "x"}}, "name.zh", "missing"),
        ({"id": "Bad Id"}, "id", "lower-case"),
        ({"version": 0}, "version", ">= 1"),
        ({"enabled": "yes"}, "enabled", "true or false"),
        ({"expresion": "x"}, "expresion", "did you mean 'expression'"),
        ({"expression": "arpuu > 1"}, "expression", "unknown name 'arpuu' (did you mean 'arpu'?)"),
        ({"reason": {"en": "now {arpuu}", "zh": "x"}}, "reason.en", "unknown name 'arpuu'"),
        ({"reason": {"en": "now {arpu", "zh": "x"}}, "reason.en", "without its '}'"),
        ({"reason": {"en": "now {region :.1f}", "zh": "x"}}, "reason.en", "formats numbers"),
    ],
)
def test_validation_names_file_rule_and_field(overrides: dict, field: str, words: str) -> None:
    rules, problems = parse_rules_yaml(_yaml(_rule(**overrides)), "mine.yaml")
    assert rules == []
    assert any(p.field == field and words in p.message for p in problems), [str(p) for p in problems]
    assert all(p.source == "mine.yaml" for p in problems)
    text = str(problems[0])
    assert text.startswith("mine.yaml")


def test_expression_problem_has_position_and_caret() -> None:
    _, problems = parse_rules_yaml(_yaml(_rule(expression="arpu > 1 and\nmou.x > 2")), "f.yaml")
    (p,) = problems
    assert (p.rule_id, p.field, p.line, p.column) == ("my_rule", "expression", 2, 4)
    assert p.caret() == "mou.x > 2\n   ^"


def test_duplicate_ids_and_bad_yaml() -> None:
    _, problems = parse_rules_yaml(_yaml(_rule(), _rule()), "f.yaml")
    assert [p.message for p in problems] == ["duplicate rule id in this file"]
    _, problems = parse_rules_yaml("rules: [", "f.yaml")
    assert problems[0].field == "yaml"
    _, problems = parse_rules_yaml("rules: 3", "f.yaml")
    assert "list of rules" in problems[0].message


def test_user_rules_override_shipped_ones_and_add_new(tmp_path: Path) -> None:
    user = tmp_path / "rules"
    user.mkdir()
    override = _rule(id="gd_other_op_ip_spend", expression="other_op_ip_spend > 80", version=2)
    (user / "mine.yaml").write_text(_yaml(override, _rule(id="my_rule")), encoding="utf-8")
    shipped = service.load_catalogue()
    merged = service.load_catalogue(user)
    by_id = {r.id: r for r in merged}
    assert len(merged) == len(shipped) + 1
    assert by_id["gd_other_op_ip_spend"].expression == "other_op_ip_spend > 80"
    assert by_id["gd_other_op_ip_spend"].version == 2
    assert [r.id for r in merged].index("gd_other_op_ip_spend") == [r.id for r in shipped].index("gd_other_op_ip_spend")
    assert "my_rule" in by_id


def test_a_broken_user_file_stops_loading_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(_yaml(_rule(severity="x", family="y")), encoding="utf-8")
    with pytest.raises(RuleDefinitionError) as info:
        service.load_catalogue(tmp_path)
    assert {p.field for p in info.value.problems} == {"severity", "family"}
    assert "bad.yaml" in str(info.value)


FILE_WITH_TWO_BROKEN_RULES = """\
rules:
  - id: r1
    name: {en: "One", zh: "一"}
    family: retention
    expression: declinde_months(arpu, 3, 0.2) >= 3
    severity: high
    reason: {en: "x", zh: "x"}
  - id: r1
    name: {en: "Two", zh: "二"}
    family: retention
    expression: >-
      arpu > 1 and
      arpuu < 3
    severity: high
    reason:
      en: "x"
      zh: "x {mouu}"
"""


def test_problems_name_the_line_of_the_file_and_duplicates_of_broken_rules() -> None:
    _, problems = parse_rules_yaml(FILE_WITH_TWO_BROKEN_RULES, "mine.yaml")
    got = {(p.field, p.file_line) for p in problems}
    # The expressions start on lines 5 and 12 (a folded block starts after its '>-'), the Chinese reason on
    # 17; the second r1 is a duplicate even though both rules have errors.
    assert got == {("expression", 5), ("expression", 12), ("reason.zh", 17), ("id", 8)}
    assert any("column 1 of the placeholder in reason.zh, which starts on line 17" in str(p) for p in problems)
    text = [str(p) for p in problems]
    assert any("line 1, column 14 of the expression, which starts on line 12 of the file" in t for t in text)
    assert "mine.yaml: rule 'r1': field 'id': duplicate rule id in this file (line 8 of the file)" in text
    assert all(p.to_dict()["file_line"] for p in problems)
