"""Use cases of the rule language: check a rules file, list the catalogue, test and backtest a rule.

The catalogue is the shipped defaults (``tenure/rules/*.yaml``) overlaid by
the user's ``<home>/rules/*.yaml`` (a rule with the same id replaces the
shipped one). Testing and backtesting work on an injected history table (one
row per subscriber with ``<measure>_m0..m5`` columns); the ``*_for_month``
functions read it from the warehouse for the CLI.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.analytics.rules import compile_expression, still_on_the_network, table_schema
from tenure.config import Settings
from tenure.domain.errors import InputError, LoadError, NotFound, RuleSyntaxError
from tenure.domain.model import month_add, month_range, parse_month
from tenure.domain.rules import ast
from tenure.domain.rules.catalogue import (
    FAMILIES,
    Problem,
    Rule,
    RuleDefinitionError,
    overlay,
    parse_rules_yaml,
)
from tenure.domain.rules.functions import deepest_reads, months_needed
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
OUTCOME_HORIZON_MONTHS = 3
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


def _checked(rule: Rule, table: ibis.Table) -> None:
    if rule.key not in table.columns:
        raise InputError(f"the history table has no '{rule.key}' column for {rule.scope} rules")
    try:
        check_condition(rule.node, table_schema(table, key=rule.key), rule.expression)
    except RuleSyntaxError as exc:
        raise RuleSyntaxError(f"rule '{rule.id}': {exc.message}", exc.line, exc.column, rule.expression) from None


def test_rule(rule: Rule, history: ibis.Table, month_end: date, sample_size: int = SAMPLE_SIZE) -> RuleTestResult:
    """Run ``rule`` on ``history`` (one row per entity) for the month ending ``month_end``."""
    _checked(rule, history)
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


# -- backtest --------------------------------------------------------------------

@dataclass
class BacktestMonth:
    """Rule performance in one month against churn in the following months."""

    month: str
    population: int
    matched: int
    churners: int
    matched_churned: int
    precision: float | None
    base_rate: float | None
    lift: float | None
    coverage: float | None
    outcome_months: int | None = None
    """Months of the outcome window that are known (None: not told, taken as all of them)."""
    short_history: bool = False
    """No entity had a month the rule reads (``lag(arpu, 3)`` with no ``arpu`` three months back): it could not fire."""


@dataclass
class BacktestResult:
    rule_id: str
    horizon_months: int
    months: list[BacktestMonth]
    total: BacktestMonth
    incomplete_months: list[str] = field(default_factory=list)
    """Months whose outcome window reaches beyond the outcomes available."""
    total_months: list[str] = field(default_factory=list)
    """The months ``total`` adds up: those with complete outcomes, or if none, those with some."""
    total_complete: bool = True
    """False when no month's outcomes are complete and ``total`` adds up partial windows."""
    months_needed: int = 1
    """Months of history the rule reads (``declined_months(arpu, 3, 0.2)``: 4)."""
    short_history_months: list[str] = field(default_factory=list)
    """Months where no entity had a month the rule reads, so it could not fire as written: left out of the total."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _month_stats(
    month: str, population: int, matched: int, churners: int, matched_churned: int, outcome_months: int | None = None
) -> BacktestMonth:
    """The month's ratios; none at all while not one month of its outcome window is known."""
    if outcome_months == 0:
        return BacktestMonth(month, population, matched, churners, matched_churned, None, None, None, None, 0)
    precision = _ratio(matched_churned, matched)
    base_rate = _ratio(churners, population)
    lift = precision / base_rate if precision is not None and base_rate else None
    return BacktestMonth(
        month, population, matched, churners, matched_churned, precision, base_rate, lift,
        _ratio(matched_churned, churners), outcome_months,
    )


def backtest_rule(
    rule: Rule,
    history_for: Callable[[str], ibis.Table] | Mapping[str, ibis.Table],
    outcomes: ibis.Table,
    first: str,
    last: str,
    horizon: int = OUTCOME_HORIZON_MONTHS,
    outcomes_until: str | None = None,
) -> BacktestResult:
    """Precision, base rate, lift and coverage of ``rule`` for each month from ``first`` to ``last``.

    ``outcomes`` has ``subscriber_id`` and ``churn_date``. An entity counts as
    a churner of month M when it churned after M's last day and no later than
    the last day of M + ``horizon``; entities gone by M's end are left out.
    ``outcomes_until`` (a month) marks months whose window is not fully known:
    their ratios count only the months known (none at all when no month of
    the window is), and the total adds up the months whose window is
    complete, so that months still waiting for their churners do not water
    down its precision, base rate and coverage. When no month is complete,
    the total adds up those with some outcomes and says so
    (``total_complete``). A month where no entity has one of the months the
    rule reads (:func:`deepest_reads`: the earliest month of each measure)
    could not fire as written: it is listed and left out of the total too.
    """
    if rule.scope != "subscriber":
        raise InputError("backtests need churn outcomes per subscriber: only subscriber rules can be backtested")
    get = history_for.__getitem__ if isinstance(history_for, Mapping) else history_for
    churn = (
        outcomes.filter(outcomes.churn_date.notnull())
        .group_by(outcomes.subscriber_id.name("_key"))
        .aggregate(_churn_date=outcomes.churn_date.min())
    )
    months: list[BacktestMonth] = []
    incomplete: list[str] = []
    short: list[str] = []
    needed = months_needed(rule.node)
    for month in month_range(first, last):
        history = get(month)
        _checked(rule, history)
        start, end = month_end(month), month_end(month_add(month, horizon))
        fired = compile_expression(rule.node, history, start).fill_null(False)
        earliest = [c for c in (f"{m}_m{k}" for m, k in deepest_reads(rule.node).items()) if c in history.columns]
        base = history.select(_key=history.subscriber_id, _fired=fired, **{f"_e{i}": history[c]
                                                                          for i, c in enumerate(earliest)})
        joined = base.left_join(churn, "_key").select("_key", "_fired", "_churn_date",
                                                       *[f"_e{i}" for i in range(len(earliest))])
        alive = joined.filter(joined._churn_date.isnull() | (joined._churn_date > start))
        churned = alive._churn_date.notnull() & (alive._churn_date <= end)
        row = alive.aggregate(
            population=alive.count(),
            matched=ibis.ifelse(alive._fired, 1, 0).sum(),
            churners=ibis.ifelse(churned, 1, 0).sum(),
            matched_churned=ibis.ifelse(alive._fired & churned, 1, 0).sum(),
            **{f"_e{i}": alive[f"_e{i}"].count() for i in range(len(earliest))},
        ).to_pyarrow().to_pylist()[0]
        known = None if outcomes_until is None else len(month_range(month_add(month, 1), outcomes_until)[:horizon])
        population, matched, churners, caught = (
            int(row[c] or 0) for c in ("population", "matched", "churners", "matched_churned"))
        months.append(_month_stats(month, population, matched, churners, caught, known))
        if known is not None and known < horizon:
            incomplete.append(month)
        if any(not row[f"_e{i}"] for i in range(len(earliest))):
            months[-1].short_history = True
            short.append(month)
    usable = [m for m in months if m.month not in short]
    complete = [m for m in usable if m.month not in incomplete]
    summed = complete or [m for m in usable if m.outcome_months]
    span = (summed[0].month, summed[-1].month) if summed else (first, last)
    label = span[0] if span[0] == span[1] else f"{span[0]}..{span[1]}"
    total = _month_stats(
        label,
        sum(m.population for m in summed),
        sum(m.matched for m in summed),
        sum(m.churners for m in summed),
        sum(m.matched_churned for m in summed),
        outcome_months=None if summed else 0,
    )
    total_complete = bool(summed) and not any(m.month in incomplete for m in summed)
    return BacktestResult(rule.id, horizon, months, total, incomplete, [m.month for m in summed], total_complete,
                          needed, short)


# -- warehouse-backed entry points for the CLI --------------------------------------

def _features(settings: Settings, engine: Any, month: str, scope: str) -> ibis.Table:
    from tenure.engines.warehouse import Warehouse

    table = FEATURE_TABLES[scope]
    try:
        path = Warehouse(settings.warehouse_dir).path(table, month, "output")
    except NotFound:
        raise NotFound(
            f"no {table} output for {month} in the warehouse: run `tenure run-month {month}` first"
        ) from None
    return engine.read_parquet([path], name=table)


def _churn_outcomes(settings: Settings, engine: Any, months: list[str]) -> tuple[ibis.Table, str | None]:
    """Churn dates from the loaded ``subscribers`` of ``months``, and the last month available."""
    from tenure.engines.warehouse import Warehouse

    warehouse = Warehouse(settings.warehouse_dir)
    parts = []
    latest = None
    for m in months:
        if not warehouse.has("subscribers", m, "input"):
            continue
        latest = m
        t = engine.read_parquet([warehouse.path("subscribers", m, "input")], name="subscribers")
        churned = t.filter(t.status == "churned")
        parts.append(
            churned.select(
                subscriber_id=churned.subscriber_id,
                churn_date=churned.churn_date.cast("date").fill_null(ibis.literal(month_end(m), type="date")),
            )
        )
    if not parts:
        empty = ibis.memtable(pa.schema([("subscriber_id", pa.string()), ("churn_date", pa.date32())]).empty_table())
        return empty, None
    union = parts[0]
    for p in parts[1:]:
        union = union.union(p, distinct=False)
    return union, latest


def month_population(settings: Settings, engine: Any, month: str, scope: str) -> ibis.Table:
    """The entities a rule is tested on in ``month``: its features, subscribers still on the network only.

    The same population the cycle's warnings and ``backtest`` use
    (:func:`tenure.analytics.rules.still_on_the_network`).
    """
    features = _features(settings, engine, month, scope)
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


def backtest_rule_for_months(settings: Settings, rule_id: str, first: str, last: str) -> BacktestResult:
    """``backtest_rule`` on warehouse features, with churn from later months' ``subscribers``."""
    from tenure.engines.compute import connect

    rule = get_rule(catalogue_for(settings), rule_id)
    parse_month(first)
    parse_month(last)
    if first > last:
        raise InputError(f"--from {first} is after --to {last}")
    engine = connect(settings)
    try:
        # From month `first` itself: its snapshot names who left during it, who are not "still on the network".
        outcome_months = month_range(first, month_add(last, OUTCOME_HORIZON_MONTHS))
        outcomes, latest = _churn_outcomes(settings, engine, outcome_months)
        return backtest_rule(
            rule,
            lambda m: _features(settings, engine, m, rule.scope),
            outcomes,
            first,
            last,
            outcomes_until=latest or first,
        )
    finally:
        engine.close()


test_rule_for_month.__test__ = False  # type: ignore[attr-defined]
