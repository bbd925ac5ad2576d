"""CLI commands: sla (circuit provisioning due dates, lateness and compensation)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.domain import sla as sla_rules
from tenure.domain.calendar import WorkingCalendar, load_calendar
from tenure.domain.errors import InputError
from tenure.domain.grades_enterprise import EnterpriseConfig, load_enterprise_config
from tenure.interfaces.cli.output import console, report, table

sla_app = typer.Typer(
    help="Circuit provisioning SLAs: due dates in working days, price and late compensation.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def _required_date(value: str, what: str) -> date:
    found = _date(value, what)
    if found is None:
        raise InputError(f"{what} is required")
    return found


def _context() -> tuple[EnterpriseConfig, WorkingCalendar]:
    """Enterprise configuration and calendar, with the operator's files under <home>/config."""
    config_dir = get_settings().home / "config"
    override = config_dir / "enterprise.yaml"
    config = load_enterprise_config(override if override.exists() else None)
    return config, load_calendar(config_dir / "calendar.yaml")


@sla_app.command("due")
def due(
    service: Annotated[str, typer.Option("--service", help="digital, ddn or fr-atm.")],
    tier: Annotated[str, typer.Option("--tier", help="express, urgent or normal.")],
    start: Annotated[str, typer.Option("--start", help="Day the order was accepted, YYYY-MM-DD.")],
    completed: Annotated[
        str | None, typer.Option("--completed", help="Day the circuit was delivered, YYYY-MM-DD.")
    ] = None,
    fee: Annotated[str | None, typer.Option("--fee", help="One-off fee in yuan.")] = None,
    star: Annotated[
        int | None,
        typer.Option(
            "--star", help="Customer's star level 1-5 (its included tier is not surcharged)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Due date of a provisioning order; with --completed and --fee, lateness and compensation."""
    config, calendar = _context()
    included = (
        config.star_levels.for_star(star).included_provisioning_tier if star is not None else None
    )
    doc = sla_rules.quote(
        service,
        tier,
        _required_date(start, "--start"),
        calendar,
        config.sla,
        completed_on=_date(completed, "--completed"),
        one_off_fee=sla_rules.parse_fee(fee) if fee is not None else None,
        included_tier=included,
    )
    if star is not None:
        doc["star_level"] = star

    def render(d: dict[str, Any]) -> None:
        labels = {
            "service": "service",
            "tier": "tier",
            "star_level": "star level",
            "working_days": "working days allowed",
            "accepted_on": "accepted",
            "due_on": "due",
            "completed_on": "completed",
            "working_days_late": "working days late",
            "one_off_fee": "one-off fee",
            "price_multiplier": "price multiplier",
            "price_waived": "surcharge waived (star level)",
            "price_charged": "price charged",
            "penalty_per_working_day": "penalty per working day",
            "compensation": "compensation",
            "capped": "capped at the one-off fee",
        }
        rows = [
            (labels[k], "yes" if v is True else "no" if v is False else v) for k, v in d.items()
        ]
        console.print(table("Provisioning SLA", ["", "value"], rows))

    report(doc, as_json, render)


@sla_app.command("table")
def sla_table(as_json: JsonOpt = False) -> None:
    """The SLA table in force: working days per service and tier, price and penalty."""
    config, calendar = _context()
    doc = {
        "tiers": config.sla.to_rows(),
        "penalty_cap": config.sla.penalty_cap,
        "calendar_years": list(calendar.years),
    }

    def render(d: dict[str, Any]) -> None:
        rows = [
            (
                r["tier"],
                r["digital"],
                r["ddn"],
                r["fr_atm"],
                f"{r['price_multiplier']:.0%}",
                f"{r['penalty_per_working_day']:.0%}",
            )
            for r in d["tiers"]
        ]
        console.print(
            table(
                "Provisioning SLA (working days)",
                ["tier", "digital", "DDN", "FR/ATM", "price", "penalty/day"],
                rows,
            )
        )
        console.print(
            f"Compensation cap: {d['penalty_cap']:.0%} of the one-off fee. "
            f"Calendar covers {d['calendar_years'][0]}-{d['calendar_years'][1]}."
        )

    report(doc, as_json, render)


ORDER_COLUMNS = ("customer_id", "service", "tier", "one_off_fee", "accepted_on", "completed_on")


def _read_orders(path: Path) -> list[sla_rules.ProvisioningOrder]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            missing = [c for c in ORDER_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path}: missing columns {', '.join(missing)}")
            orders = []
            for i, row in enumerate(reader, start=2):
                try:
                    accepted = _required_date(row["accepted_on"], "accepted_on")
                    orders.append(
                        sla_rules.ProvisioningOrder(
                            customer_id=row["customer_id"],
                            service=sla_rules.parse_service(row["service"]),
                            tier=sla_rules.parse_tier(row["tier"]),
                            one_off_fee=sla_rules.parse_fee(row["one_off_fee"]),
                            accepted_on=accepted,
                            completed_on=_date(row["completed_on"] or None, "completed_on"),
                            order_id=row.get("order_id") or "",
                        )
                    )
                except InputError as exc:
                    raise InputError(f"{path}, line {i}: {exc}") from None
            return orders
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


@sla_app.command("report")
def compensation(
    orders: Annotated[
        Path,
        typer.Option(
            "--orders",
            help="CSV: customer_id, service, tier, one_off_fee, accepted_on, completed_on.",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Late orders and compensation per customer and month of completion."""
    config, calendar = _context()
    result = sla_rules.compensation_report(_read_orders(orders), calendar, config.sla)

    def render(r: sla_rules.CompensationReport) -> None:
        rows = [
            (x.customer_id, x.month, x.orders, x.late_orders, x.working_days_late, x.compensation)
            for x in r.lines
        ]
        rows.append(("total", "", r.orders, r.late_orders, r.working_days_late, r.compensation))
        console.print(
            table(
                "Provisioning compensation",
                ["customer", "month", "orders", "late", "working days late", "compensation"],
                rows,
            )
        )
        if r.open_orders:
            console.print(f"{r.open_orders} open orders not counted.")

    if as_json:
        report(result.to_dict(), True, lambda _: None)
    else:
        render(result)


def register(app: typer.Typer) -> None:
    """Add the sla commands to ``app``."""
    app.add_typer(sla_app, name="sla")
