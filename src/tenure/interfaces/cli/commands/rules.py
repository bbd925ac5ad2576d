"""CLI commands: ``tenure rules check|list|test|backtest``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table

rules_app = typer.Typer(
    help="Early-warning rules: check a rules file, list the catalogue, test and backtest a rule.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _pct(v: float | None) -> str:
    return "" if v is None else f"{v * 100:.1f}%"


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}"


def _value(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):  # months of a measure, newest first
        return ", ".join("-" if x is None else str(_value(x)) for x in v)
    return v


@rules_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="A rules YAML file.")],
    as_json: JsonOpt = False,
) -> None:
    """Parse and type-check every rule in FILE; exit code 3 when any rule has a problem.

    Names are checked against the contract and the latest features output.
    """
    from tenure.services import rules as service

    result = service.check_file(file, service.known_schemas(get_settings()))

    def render(doc: Any) -> None:
        if result.ok:
            console.print(f"OK: {len(result.rules)} rule(s) in {result.source}", markup=False, highlight=False, soft_wrap=True)
            if not result.rules:
                console.print("note: the file holds no rules (a list of rules goes under 'rules:')",
                              markup=False, highlight=False)
            return
        for p in result.problems:
            # soft_wrap keeps the expression and its caret on single, aligned lines.
            console.print(str(p), markup=False, highlight=False, soft_wrap=True)
            caret = p.caret()
            if caret:
                for line in caret.split("\n"):
                    console.print(f"    {line}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"{len(result.problems)} problem(s)", markup=False, highlight=False)

    report(result.to_dict(), as_json, render)
    if not result.ok:
        raise typer.Exit(3)


@rules_app.command("list")
def list_(
    family: Annotated[str | None, typer.Option("--family", help="retention, maintenance, value_uplift or prevention.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The rule catalogue: shipped defaults overlaid by <home>/rules/*.yaml."""
    from tenure.services import rules as service

    settings = get_settings()
    rules = service.list_rules(service.catalogue_for(settings), family)
    doc = [r.to_dict() for r in rules]

    def render(_: Any) -> None:
        rows = [
            (r.id + ("" if r.enabled else " (disabled)"), r.family, r.scope, r.severity, r.name[settings.cli_language],
             r.expression)
            for r in rules
        ]
        console.print(table(f"{len(rules)} rule(s)", ["id", "family", "scope", "severity", "name", "expression"], rows))

    report(doc, as_json, render)


@rules_app.command("test")
def test(
    rule_id: Annotated[str, typer.Argument(help="Rule id.")],
    month: Annotated[str, typer.Option("--month", help="Month YYYY-MM (its features must exist).")],
    as_json: JsonOpt = False,
) -> None:
    """How many subscribers RULE_ID matches in a month, with 10 samples and their values."""
    from tenure.services import rules as service

    result = service.test_rule_for_month(get_settings(), rule_id, month)

    def render(_: Any) -> None:
        console.print(
            f"{result.rule_id} {month}: {result.matched:,} of {result.population:,} matched ({_pct(result.share)})",
            markup=False,
            highlight=False,
        )
        if result.samples:
            key = next(iter(result.samples[0]))
            rows = [[s[key], *[_value(s["values"][v]) for v in result.values]] for s in result.samples]
            console.print(table("samples", [key, *result.values], rows))

    report(result.to_dict(), as_json, render)


@rules_app.command("backtest")
def backtest(
    rule_id: Annotated[str, typer.Argument(help="Rule id.")],
    first: Annotated[str, typer.Option("--from", help="First month YYYY-MM.")],
    last: Annotated[str, typer.Option("--to", help="Last month YYYY-MM.")],
    as_json: JsonOpt = False,
) -> None:
    """Precision, lift and coverage of RULE_ID against churn in the 3 following months."""
    from tenure.services import rule_backtest

    result = rule_backtest.backtest_rule_for_months(get_settings(), rule_id, first, last)

    def render(_: Any) -> None:
        rows = [
            (label, m.population, m.matched, m.churners, m.matched_churned,
             _pct(m.precision), _pct(m.base_rate), _num(m.lift), _pct(m.coverage))
            for label, m in [*((m.month, m) for m in result.months), (_total_label(result), result.total)]
        ]
        console.print(table(
            f"{result.rule_id}: churn within {result.horizon_months} months (caught = matched and churned)",
            ["month", "population", "matched", "churners", "caught", "precision", "base rate", "lift", "coverage"],
            rows,
        ))
        if result.short_history_months:
            console.print(
                f"the rule reads {result.months_needed} months of history; no subscriber has all of them in: "
                + ", ".join(result.short_history_months) + " (left out of the total)",
                markup=False, highlight=False,
            )
        if result.incomplete_months:
            waiting = [m.month for m in result.months if m.outcome_months == 0]
            console.print(
                "outcomes not complete yet for: " + ", ".join(result.incomplete_months)
                + (f" (none known yet for {', '.join(waiting)})" if waiting else ""),
                markup=False, highlight=False,
            )
            console.print(_total_note(result), markup=False, highlight=False)

    report(result.to_dict(), as_json, render)


def _total_label(result: Any) -> str:
    if not result.total_months:
        return "total"
    return f"total {result.total.month}" + ("" if result.total_complete else " (partial)")


def _total_note(result: Any) -> str:
    if not result.total_months:
        if len(result.short_history_months) == len(result.months):
            return "no month has the history the rule reads: the total is empty"
        return "no month has any outcome yet: the total is empty"
    months = ", ".join(result.total_months)
    if result.total_complete:
        return f"the total adds up the months with complete outcomes only: {months}"
    return f"no month has complete outcomes yet: the total adds up partial windows ({months})"


def register(app: typer.Typer) -> None:
    """Add the rules commands to ``app``."""
    app.add_typer(rules_app, name="rules")
