"""CLI commands: evaluate (campaign effect against control, snapshot retention 拍照保有率)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table

evaluate_app = typer.Typer(help="Evaluate campaigns against their control groups and the programme KPIs.",
                           no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
MonthOpt = Annotated[str, typer.Option("--month", help="Month YYYY-MM.")]


def _service(with_store: bool):  # type: ignore[no-untyped-def]
    from tenure.engines.warehouse import Warehouse
    from tenure.services.evaluation import EvaluationService

    settings = get_settings()
    if with_store:
        from tenure.bootstrap import build

        services = build(settings)
        return EvaluationService(services.warehouse, services.uow, threads=settings.duckdb_threads,
                                 memory_limit=settings.duckdb_memory_limit)
    return EvaluationService(Warehouse(settings.warehouse_dir), threads=settings.duckdb_threads,
                             memory_limit=settings.duckdb_memory_limit)


def _num(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:+.2%}" if pct else f"{v:,.2f}"


def _p(v: float | None) -> str:
    return "-" if v is None else ("<0.001" if v < 0.001 else f"{v:.3f}")


def _metric_rows(h: dict[str, Any], label: str) -> list[tuple]:
    rows = []
    for m in h["metrics"]:
        pct = m["kind"] == "proportion"
        fmt = (lambda x: "-" if x is None else f"{x:.2%}") if pct else _num
        rows.append((label, h["month"], m["metric"], f"{m['treated_n']:,}", fmt(m["treated_value"]),
                     f"{m['control_n']:,}", fmt(m["control_value"]), _num(m["difference"], pct),
                     f"[{_num(m['ci_low'], pct)}, {_num(m['ci_high'], pct)}]", _p(m["p_value"])))
    return rows


def _print_effect(doc: dict[str, Any]) -> None:
    cols = ["view", "month", "metric", "treated n", "treated", "control n", "control", "difference",
            "95% CI", "p"]
    rows: list[tuple] = []
    for h in doc["horizons"]:
        rows += _metric_rows(h, f"ITT +{h['horizon']}")
        if "contacted" in h:
            rows += _metric_rows(h["contacted"], f"contacted +{h['horizon']} (not causal)")
    console.print(table(f"Campaign {doc['campaign_id']} planned {doc['month']}: "
                        f"{doc['treated_n']:,} treated, {doc['control_n']:,} control", cols, rows))
    summary = [(f"+{h['horizon']}", h["month"], _num(h.get("incremental_customers")),
                _num(h.get("incremental_revenue")), _num(h.get("cost")),
                _num(h.get("return_on_cost"), True), "-" if h.get("mde") is None else f"{h['mde']:.2%}")
               for h in doc["horizons"]]
    console.print(table("Business effect", ["horizon", "month", "customers kept", "revenue (yuan)",
                                            "cost (yuan)", "return on cost", "MDE churn"], summary))
    if doc["balance"]:
        console.print(table("Balance before the campaign",
                            ["feature", "treated mean", "control mean", "SMD", "unbalanced"],
                            [(b["feature"], _num(b["treated_mean"]), _num(b["control_mean"]),
                              "-" if b["smd"] is None else f"{b['smd']:+.3f}", "yes" if b["unbalanced"] else "")
                             for b in doc["balance"]]))
    for w in doc["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {w}")


def _print_snapshot(doc: dict[str, Any]) -> None:
    pct = lambda x: "-" if x is None else f"{x:.1%}"
    console.print(table(f"Snapshot retention (拍照保有率) of {doc['core_customers']:,} core customers of {doc['month']}",
                        ["month", "retained", "retention", "same or higher grade", "rate"],
                        [(r["month"], r["retained"], pct(r["retention_rate"]), r["kept_grade"],
                          pct(r["kept_grade_rate"])) for r in doc["retention"]]))
    console.print(table("Bundling rate", ["month", "active", "bundled", "rate"],
                        [(b["month"], b["active"], b["bundled"], pct(b["bundling_rate"])) for b in doc["bundling"]]))


@evaluate_app.command("campaign")
def campaign(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
    month: MonthOpt,
    unit_cost: Annotated[float | None, typer.Option("--unit-cost", help="Offer cost per customer (yuan); "
                                                    "default: the campaign's offer cost.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Effect of a campaign planned in MONTH against its control group, 1-3 months later."""
    doc = _service(with_store=True).campaign_effect(campaign_id, month, unit_cost=unit_cost)
    report(doc, as_json, _print_effect)


@evaluate_app.command("snapshot")
def snapshot(
    month: MonthOpt,
    months: Annotated[int, typer.Option("--months", help="Months to follow.")] = 12,
    as_json: JsonOpt = False,
) -> None:
    """Retention of the core customers of MONTH (拍照保有率) and the bundling rate by month."""
    report(_service(with_store=False).snapshot_retention(month, months), as_json, _print_snapshot)


def register(app: typer.Typer) -> None:
    """Add the evaluation commands to ``app``."""
    app.add_typer(evaluate_app, name="evaluate")
