"""CLI commands: key-accounts (the scheduled jobs and reports of the key-account layer)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.engines.warehouse import Warehouse
from tenure.interfaces.cli.output import console, report, table
from tenure.services.enterprise import KeyAccountServices, build_key_accounts
from tenure.services.points_accrual import accrue_month

ka_app = typer.Typer(help="Key accounts: return visits, escalation, opportunity discovery, compensation, points.",
                     no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
MonthOpt = Annotated[str | None, typer.Option("--month", help="Month YYYY-MM.")]


@contextmanager
def _services() -> Iterator[KeyAccountServices]:
    settings = get_settings()
    engine = make_engine(settings.store_url)
    try:
        migrate(engine)
        yield build_key_accounts(settings.home, UnitOfWorkFactory(engine), Warehouse(settings.warehouse_dir))
    finally:
        engine.dispose()


@ka_app.command("visits")
def visits(month: MonthOpt = None, as_json: JsonOpt = False) -> None:
    """Schedule return visits for fixed faults (idempotent), escalate overdue ones, print the coverage."""
    with _services() as ka:
        generated = ka.visits.generate(None, month)
        escalated = ka.visits.escalate_overdue(None)
        coverage = ka.visits.coverage(None, month)
    doc: dict[str, Any] = {"generated": generated, "escalated": escalated, "coverage": coverage}

    def render(d: dict[str, Any]) -> None:
        c = d["coverage"]
        console.print(table("Return visits", ["new sources", "tasks created", "escalated", "due", "done", "open",
                                              "overdue", "coverage"],
                            [[d["generated"]["sources"], d["generated"]["created"], len(d["escalated"]), c["due"],
                              c["done"], c["open"], c["overdue"], f"{c['coverage']:.1%}"]]))

    report(doc, as_json, render)


@ka_app.command("discover")
def discover(month: Annotated[str, typer.Option("--month", help="Month YYYY-MM.")], as_json: JsonOpt = False) -> None:
    """Record the opportunities the month's data suggests (a rerun adds nothing)."""
    with _services() as ka:
        doc = ka.opportunities.discover(None, month)
    report(doc, as_json, lambda d: console.print(table(f"Opportunities {month}", ["found", "added"],
                                                       [[d["found"], d["added"]]])))


@ka_app.command("compensation")
def compensation(month: MonthOpt = None, as_json: JsonOpt = False) -> None:
    """SLA compensation of the stored provisioning orders, per customer and month of completion."""
    with _services() as ka:
        doc = ka.sla_orders.compensation_report(None, month).to_dict()

    def render(d: dict[str, Any]) -> None:
        rows = [[x["customer_id"], x["month"], x["orders"], x["late_orders"], x["working_days_late"],
                 x["compensation"]] for x in d["lines"]]
        t = d["totals"]
        rows.append(["total", "", t["orders"], t["late_orders"], t["working_days_late"], t["compensation"]])
        console.print(table("SLA compensation", ["customer", "month", "orders", "late", "days late",
                                                 "compensation"], rows))

    report(doc, as_json, render)


@ka_app.command("points")
def points(month: Annotated[str, typer.Option("--month", help="Month YYYY-MM whose spend earns points.")],
           as_json: JsonOpt = False) -> None:
    """Monthly points job: spend and anniversary points for every account, then expiry (a rerun adds nothing)."""
    settings = get_settings()
    with _services() as ka:
        doc = accrue_month(ka.points, Warehouse(settings.warehouse_dir), month)

    def render(d: dict[str, Any]) -> None:
        console.print(table(f"Points {d['month']} (posted {d['posted_on']})",
                            ["accounts", "spend accounts", "spend points", "anniversaries", "tenure points",
                             "already accrued", "no usage", "expired", "refused"],
                            [[d["accounts"], d["spend_accounts"], d["spend_points"], d["tenure_accounts"],
                              d["tenure_points"], d["already_accrued"], d["no_usage"], d["expired_points"],
                              len(d["refused"])]]))
        for r in d["refused"]:
            console.print(f"refused {r['account_id']}: {r['reason']}")

    report(doc, as_json, render)


def register(app: typer.Typer) -> None:
    """Add the key-accounts commands to ``app``."""
    app.add_typer(ka_app, name="key-accounts")
