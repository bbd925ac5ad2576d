"""Use cases of the rule language: check a rules file, list the catalogue, test a rule.

The catalogue is the shipped defaults (``tenure/rules/*.yaml``) overlaid by
the user's ``<home>/rules/*.yaml`` (a rule with the same id replaces the
shipped one). Testing works on an injected history table (one row per
subscriber with ``<measure>_m0..m5`` columns); the ``*_for_month`` functions
read it from the warehouse for the CLI. Backtesting is in
:mod:`tenure.services.rule_backtest`.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.analytics.features import still_on_the_network
from tenure.analytics.rules import compile_expression, table_schema
from tenure.config import Settings
from tenure.domain.errors import InputError, LoadError, NotFound, RuleSyntaxError
from tenure.domain.model import parse_month
from tenure.domain.rules import ast
from tenure.domain.rules.catalogue import (
    FAMILIES,
    Problem,
    Rule,
    RuleDefinitionError,
    overlay,
    parse_rules_yaml,
)
from tenure.domain.rules.functions import deepest_reads
from tenure.domain.rules.printer import to_text
from tenure.domain.rules.typecheck import (
    SCOPE_KEYS,
    Schema,
    check_condition,
    schema_for,
    schema_from_columns,
    suggest,
)

SHIPPED_RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
SAMPLE_SIZE = 10
FEATURE_TABLES = {"subscriber": "features", "group": "group_features"}
"""Warehouse output tables the rules of each scope run on."""


def month_end(month: str) -> date:
    """Last day of a ``YYYY-MM`` month."""
    parse_month(month)
    y, m = int(month[:4]), int(month[5:7])
    return date(y, m, calendar.monthrange(y, m)[1])


# -- catalogue -------------------------------------------------------------------

def user_rules_dir(settings: Settings) -> Path:
    return settings.home / "rules"


_ARROW_KINDS = (
    (pa.types.is_boolean, "bool"),
    (lambda t: pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t), "number"),
    (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "string"),
    (pa.types.is_date, "date"),
)


def _rule_type(arrow_type: pa.DataType) -> str | None:
    return next((kind for test, kind in _ARROW_KINDS if test(arrow_type)), None)


def known_schemas(settings: Settings) -> dict[str, Schema]:
    """Contract schema per scope, plus the columns of the latest ``features`` / ``group_features`` output.

    User rules may use any column the feature pipeline writes; the shipped
    catalogue sticks to the contract. Only Parquet metadata is read.
    """
    from tenure.engines.warehouse import Warehouse

    warehouse = Warehouse(settings.warehouse_dir)
    schemas: dict[str, Schema] = {}
    for scope, table in FEATURE_TABLES.items():
        contract = schema_for(scope)
        months = warehouse.months("output", table)
        if not months:
            schemas[scope] = contract
            continue
        arrow_schema = pq.read_schema(warehouse.path(table, months[-1], "output"))
        columns = {f.name: t for f in arrow_schema if (t := _rule_type(f.type)) is not None}
        schemas[scope] = schema_from_columns(columns, base=contract, key=SCOPE_KEYS[scope])
    return schemas


def read_rules_file(path: Path, schemas: Mapping[str, Schema] | None = None) -> tuple[list[Rule], list[Problem]]:
    """Rules and problems of one YAML file (checked against ``schemas``, default the contract)."""
    from tenure.engines.sources import decode_to_utf8

    path = Path(path)
    if not path.exists():
        raise NotFound(f"no rules file {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory: name a rules file (YAML), or put the file in <home>/rules")
    # UTF-8 (with or without a BOM) or, as files saved by Chinese editions of Windows often are, GB18030/GBK.
    try:
        body, _ = decode_to_utf8(path.read_bytes(), path, None)
    except LoadError:
        raise InputError(f"{path}: neither UTF-8 nor GB18030 text; save it as UTF-8") from None
    return parse_rules_yaml(body.decode("utf-8"), str(path), schemas)


def _read_dir(directory: Path, schemas: Mapping[str, Schema] | None = None) -> list[Rule]:
    if schemas is None:
        files = tuple(
            (str(p), p.stat().st_mtime_ns) for p in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
        )
        return list(_read_dir_cached(files))
    return _read_dir_uncached(directory, schemas)


@lru_cache(maxsize=16)
def _read_dir_cached(files: tuple[tuple[str, int], ...]) -> tuple[Rule, ...]:
    # Keyed by file names and modification times: an edited file is read again.
    return tuple(_check_rules([read_rules_file(Path(f)) for f, _ in files]))


def _read_dir_uncached(directory: Path, schemas: Mapping[str, Schema]) -> list[Rule]:
    paths = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    return _check_rules([read_rules_file(p, schemas) for p in paths])


def _check_rules(results: list[tuple[list[Rule], list[Problem]]]) -> list[Rule]:
    rules: list[Rule] = []
    problems: list[Problem] = []
    for found, bad in results:
        rules.extend(found)
        problems.extend(bad)
    if problems:
        raise RuleDefinitionError(problems)
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise RuleDefinitionError(
                [Problem(rule.source, rule.id, "id", f"rule id also defined in {seen[rule.id]}")]
            )
        seen[rule.id] = rule.source
    return rules


def load_catalogue(
    user_dir: Path | None = None,
    shipped_dir: Path = SHIPPED_RULES_DIR,
    user_schemas: Mapping[str, Schema] | None = None,
) -> list[Rule]:
    """Shipped rules overlaid by the user's; RuleDefinitionError lists every problem.

    Shipped rules are checked against the contract; user rules against
    ``user_schemas`` (default: the contract too).
    """
    layers = [_read_dir(shipped_dir)]
    if user_dir is not None and Path(user_dir).is_dir():
        layers.append(_read_dir(Path(user_dir), user_schemas))
    return overlay(*layers)


def catalogue_for(settings: Settings) -> list[Rule]:
    """The catalogue of this installation: shipped rules plus ``<home>/rules``."""
    return load_catalogue(user_rules_dir(settings), user_schemas=known_schemas(settings))


def list_rules(rules: list[Rule], family: str | None = None) -> list[Rule]:
    """Rules of one family (all when ``family`` is None), family by family, subscriber rules first."""
    if family is not None and family not in FAMILIES:
        raise InputError(f"unknown family {family!r}: use one of {', '.join(FAMILIES)}")
    order = list(FAMILIES)
    chosen = [r for r in rules if family is None or r.family == family]
    return sorted(chosen, key=lambda r: (order.index(r.family), r.scope != "subscriber"))


def get_rule(rules: list[Rule], rule_id: str) -> Rule:
    for rule in rules:
        if rule.id == rule_id:
            return rule
    raise NotFound(f"no rule '{rule_id}'{suggest(rule_id, [r.id for r in rules])}")


@dataclass
class CheckReport:
    """Result of checking a rules file."""

    source: str
    rules: list[str]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": self.ok,
            "rules": self.rules,
            "problems": [{**p.to_dict(), "caret": p.caret()} for p in self.problems],
        }


def check_file(path: Path, schemas: Mapping[str, Schema] | None = None) -> CheckReport:
    """Parse and type-check every rule of a YAML file (against the contract unless ``schemas`` is given)."""
    rules, problems = read_rules_file(path, schemas)
    return CheckReport(str(path), [r.id for r in rules], problems)


# -- test against one month ------------------------------------------------------

@dataclass
class RuleTestResult:
    """How many entities a rule matches in one month, with samples and the values behind them."""

    rule_id: str
    month_end: date
    population: int
    matched: int
    share: float
    values: list[str]
    """Names and function calls of the expression, in order; the keys of each sample's ``values``."""
    samples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _parts(node: ast.Node) -> list[ast.Node]:
    """Names and calls of an expression, without duplicates, outermost calls first."""
    seen: dict[str, ast.Node] = {}
    for n in node.walk():
        if isinstance(n, (ast.Name, ast.Call)):
            seen.setdefault(to_text(n), n)
    return list(seen.values())


def check_rule_on(rule: Rule, table: ibis.Table) -> None:
    """Refuse ``rule`` on a table without its key or the columns it reads (InputError, RuleSyntaxError)."""
    if rule.key not in table.columns:
        raise InputError(f"the history table has no '{rule.key}' column for {rule.scope} rules")
    try:
        check_condition(rule.node, table_schema(table, key=rule.key), rule.expression)
    except RuleSyntaxError as exc:
        raise RuleSyntaxError(f"rule '{rule.id}': {exc.message}", exc.line, exc.column, rule.expression) from None


def test_rule(rule: Rule, history: ibis.Table, month_end: date, sample_size: int = SAMPLE_SIZE) -> RuleTestResult:
    """Run ``rule`` on ``history`` (one row per entity) for the month ending ``month_end``."""
    check_rule_on(rule, history)
    key = rule.key
    fired = compile_expression(rule.node, history, month_end).fill_null(False)
    counts = history.aggregate(
        population=history.count(),
        matched=ibis.ifelse(fired, 1, 0).sum(),
    ).to_pyarrow().to_pylist()[0]
    population, matched = int(counts["population"] or 0), int(counts["matched"] or 0)
    parts = _parts(rule.node)
    labels = [to_text(p) for p in parts]
    columns = {f"v{i}": compile_expression(p, history, month_end) for i, p in enumerate(parts)}
    # The months behind each window function (arpu m0..m3 for declined_months(arpu, 3, 0.2)), newest first,
    # so an analyst can see why it fired.
    for measure, k in deepest_reads(rule.node).items():
        months = [f"{measure}_m{j}" for j in range(k + 1)]
        if k >= 1 and all(c in history.columns for c in months):
            columns[f"v{len(labels)}"] = ibis.array([history[c].cast("float64") for c in months])
            labels.append(f"{measure} m0..m{k}")
    rows = (
        history.filter(fired)
        .select(history[key].name("key"), **columns)
        .order_by("key")
        .limit(sample_size)
        .to_pyarrow()
        .to_pylist()
    )
    samples = [
        {key: r["key"], "values": {label: r[f"v{i}"] for i, label in enumerate(labels)}} for r in rows
    ]
    return RuleTestResult(
        rule.id, month_end, population, matched, matched / population if population else 0.0, labels, samples
    )


# Names start with "test" because that is the analysts' word; keep pytest from collecting them.
test_rule.__test__ = False  # type: ignore[attr-defined]
RuleTestResult.__test__ = False  # type: ignore[attr-defined]


# -- warehouse-backed entry points for the CLI --------------------------------------

def month_features(settings: Settings, engine: Any, month: str, scope: str) -> ibis.Table:
    """The month's ``features`` (``group_features`` for group rules) from the warehouse output.

    Features of a month run before they carried the core-customer columns
    get them here from the configured definition, so rules reading
    ``is_core`` can be tested and backtested on those months too.
    """
    from tenure.analytics.core import core_customers
    from tenure.engines.warehouse import Warehouse
    from tenure.services.monthly_cycle import load_cycle_config

    table = FEATURE_TABLES[scope]
    try:
        path = Warehouse(settings.warehouse_dir).path(table, month, "output")
    except NotFound:
        raise NotFound(
            f"no {table} output for {month} in the warehouse: run `tenure run-month {month}` first"
        ) from None
    features = engine.read_parquet([path], name=table)
    if scope == "subscriber" and "is_core" not in features.columns:
        features = core_customers(features, load_cycle_config(settings.home).core)
    return features


def month_population(settings: Settings, engine: Any, month: str, scope: str) -> ibis.Table:
    """The entities a rule is tested on in ``month``: its features, subscribers still on the network only.

    The same population the cycle's warnings and ``backtest`` use
    (:func:`tenure.analytics.features.still_on_the_network`).
    """
    features = month_features(settings, engine, month, scope)
    alive = still_on_the_network(features)
    return features if alive is None else features.filter(alive)


def test_rule_for_month(settings: Settings, rule_id: str, month: str) -> RuleTestResult:
    """``test_rule`` on the month's features from the warehouse, among the subscribers still on the network."""
    from tenure.engines.compute import connect

    rule = get_rule(catalogue_for(settings), rule_id)
    parse_month(month)
    engine = connect(settings)
    try:
        return test_rule(rule, month_population(settings, engine, month, rule.scope), month_end(month))
    finally:
        engine.close()


test_rule_for_month.__test__ = False  # type: ignore[attr-defined]
