"""CLI commands: month (run-month, customer)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, progress, report, table


def _render_summary(doc: dict[str, Any]) -> None:
    from tenure.domain.measures import HISTORY_MONTHS

    console.print(
        f"Month {doc['month']} on {doc['engine']}: {doc['subscribers']:,} subscribers, "
        f"{doc['groups']:,} groups, {doc['warnings']:,} warnings",
        highlight=False,
    )
    for title, key in (("Stages", "stages"), ("Core customers", "core"), ("Cards by value (not the cards held)", "card_grades"),
                       ("Value levels", "value_levels"), ("Credit ratings", "credit_ratings"),
                       ("Group grades", "group_grades"), ("Segments", "segments")):
        rows = [[k, v] for k, v in doc[key].items()]
        if rows:
            console.print(table(title, ["", "subscribers" if key != "group_grades" else "groups"], rows))
    reviews = doc.get("card_reviews") or {}
    if reviews:
        console.print(f"Card reviews due (customers' best card by value against the card held): "
                      f"{reviews.get('upgrade', 0):,} upgrades, {reviews.get('downgrade', 0):,} downgrades",
                      highlight=False)
    warned = doc.get("warned_subscribers", {})
    if doc["warning_families"]:
        console.print(table("Warning families", ["", "warnings", "subscribers warned"],
                            [[k, v, warned.get(k, "")] for k, v in doc["warning_families"].items()]))
    months = doc.get("history_months")
    if months is not None and months < HISTORY_MONTHS:
        console.print(f"History: {months} of {HISTORY_MONTHS} months loaded; features that need more months are partial, "
                      "and stages and warnings will shift as the history fills.", highlight=False)
    if not doc.get("previous_month_run", True):
        console.print("Last month was not run: previous stages are unknown (\"not run\"), not new subscribers.",
                      highlight=False)
    stages = ["A", "B", "C", "D", "E"]
    tr = doc["stage_transitions"]
    console.print(table("Stage transitions (previous -> now)", ["previous", *stages],
                        [[p, *[row.get(s, 0) for s in stages]] for p, row in tr.items()]))
    loss = doc["loss_equivalence"]
    rows = [[name, v["consumer"], v["business"], f"{v['yearly_value']:,.2f}", v["key_account_equivalent"]]
            for name, v in loss.items() if isinstance(v, dict)]
    console.print(table(f"Loss in key-account terms ({loss['basis']})",
                        ["", "consumer", "business", "yearly value", "key accounts"], rows))
    if "groups_lost_in_month" in loss:
        console.print(f"Groups lost in the month (members last month, none now): {loss['groups_lost_in_month']:,}",
                      highlight=False)
    console.print(table("Timings (s)", ["step", "seconds"], [[k, v] for k, v in doc["timings"].items()]))
    drift = doc.get("drift") or {}
    if drift.get("warning"):
        console.print(f"[bold red]Drift warning[/bold red]: {drift.get('message', '')}; features above "
                      f"{drift.get('threshold')}: {', '.join(drift.get('drifted_features', [])[:10]) or 'none'}"
                      f"{' …' if len(drift.get('drifted_features', [])) > 10 else ''}",
                      highlight=False)


def _render_customer(doc: dict[str, Any]) -> None:
    p, reason = doc["profile"], f"reason_{get_settings().cli_language}"
    console.print(table(f"Subscriber {p['subscriber_id']} in {doc['month']}", ["field", "value"],
                        [[k, v] for k, v in p.items()]))
    if doc["warnings"]:
        console.print(table("Warnings", ["rule", "family", "severity", "reason"],
                            [[w["rule_id"], w["family"], w["severity"], w[reason]] for w in doc["warnings"]]))
    else:
        console.print("No warnings.")


def register(app: typer.Typer) -> None:
    """Add the month commands to ``app``."""

    @app.command("run-month")
    def run_month_cmd(
        month: Annotated[str, typer.Argument(help="Month to run, YYYY-MM.")],
        engine: Annotated[
            str | None, typer.Option("--engine", help="duckdb (default) or spark.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Compute features, warnings, stages, grades, segments and profiles for a month."""
        from tenure.domain.errors import InputError
        from tenure.domain.model import parse_month
        from tenure.services.monthly_cycle import CYCLE_STEPS, run_month

        try:
            parse_month(month)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if engine not in (None, "duckdb", "spark"):
            raise InputError(f"unknown engine {engine!r}: use duckdb or spark")
        settings = get_settings()
        with progress(enabled=not as_json) as bar:
            task = bar.add_task(f"run {month}", total=len(CYCLE_STEPS))

            def on_progress(step: str, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=f"{month}: {step} done")

            summary = run_month(settings, month, engine=engine, on_progress=on_progress)
        report(summary.to_dict(), as_json, _render_summary)

    @app.command("customer")
    def customer_cmd(
        subscriber_id: Annotated[str, typer.Argument(help="Subscriber id.")],
        month: Annotated[str, typer.Option("--month", help="Month of the profile, YYYY-MM.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Show one subscriber's profile and warnings for a month."""
        from tenure.domain.errors import InputError
        from tenure.domain.model import parse_month
        from tenure.services.monthly_cycle import customer_profile

        try:
            parse_month(month)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        doc = customer_profile(get_settings(), subscriber_id, month)
        if not as_json:
            doc = {k: v for k, v in doc.items() if k != "features"}
        report(doc, as_json, _render_customer)
