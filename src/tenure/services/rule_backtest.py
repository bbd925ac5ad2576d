"""Backtesting an analyst's rule: how many of those it matched left within the following months.

For each month, among the subscribers still on the network at its end: the
rule's precision (matched who churned within ``OUTCOME_HORIZON_MONTHS``), the
base rate, lift and coverage, from the churn dates of the later loaded
months' ``subscribers`` snapshots (docs/rule-language.md, "Testing and
backtesting a rule").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import pyarrow as pa

from tenure.analytics.rules import compile_expression
from tenure.config import Settings
from tenure.domain.errors import InputError
from tenure.domain.model import month_add, month_range, parse_month
from tenure.domain.rules.catalogue import Rule
from tenure.domain.rules.functions import deepest_reads, months_needed
from tenure.services.rules import catalogue_for, check_rule_on, get_rule, month_end, month_features

OUTCOME_HORIZON_MONTHS = 3


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
    reads = deepest_reads(rule.node)
    for month in month_range(first, last):
        history = get(month)
        check_rule_on(rule, history)
        start, end = month_end(month), month_end(month_add(month, horizon))
        fired = compile_expression(rule.node, history, start).fill_null(False)
        earliest = [c for c in (f"{m}_m{k}" for m, k in reads.items()) if c in history.columns]
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
        months[-1].short_history = any(not row[f"_e{i}"] for i in range(len(earliest)))
    short = [m.month for m in months if m.short_history]
    usable = [m for m in months if not m.short_history]
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
                          months_needed(rule.node), short)


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
            lambda m: month_features(settings, engine, m, rule.scope),
            outcomes,
            first,
            last,
            outcomes_until=latest or first,
        )
    finally:
        engine.close()
