"""CLI commands: evaluate (campaign effect against control, snapshot retention 拍照保有率)."""

from __future__ import annotations

from pathlib import Path
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


HorizonOpt = Annotated[int, typer.Option("--horizon", min=1, max=12, help="Months after the plan to follow.")]
XlsxOpt = Annotated[Path | None, typer.Option("--xlsx", help="Also write the table to this Excel file.")]


def _breakdown(kind: str, month: str | None, horizon: int, as_json: bool, xlsx: Path | None,
               min_treated: int | None = None) -> None:
    from tenure.bootstrap import build
    from tenure.services.evaluation_breakdown import EvaluationBreakdown, flat_rows, write_xlsx

    settings = get_settings()
    services = build(settings)
    try:
        kw = {} if min_treated is None else {"min_treated": min_treated}
        svc = EvaluationBreakdown(services.warehouse, services.uow, threads=settings.duckdb_threads,
                                  memory_limit=settings.duckdb_memory_limit, **kw)
        doc = svc.breakdown(kind, month, horizon)
    finally:
        services.close()
    if xlsx is not None:
        write_xlsx(doc, xlsx)

    def show(d: dict[str, Any]) -> None:
        rows = flat_rows(d)
        cols = [c for c in _BREAKDOWN_COLUMNS[kind] if any(c in r for r in rows)]
        title = f"{kind.capitalize()} · plan {d.get('month') or ', '.join(d.get('months', []))} · +{d['horizon']}"
        console.print(table(title, cols, [tuple(_cell(r.get(c)) for c in cols) for r in rows]))
        console.print(f"[dim]{d['method']}[/dim]")
        for r in d["rows"]:
            for w in r.get("warnings", []):
                console.print(f"[yellow]warning:[/yellow] {w}")

    report(doc, as_json, show)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


_BREAKDOWN_COLUMNS = {
    "segments": ["segment_id", "treated_n", "control_n", "churn_rate.difference", "churn_rate.ci_low",
                 "churn_rate.ci_high", "downgrade_rate.difference", "satisfaction.difference"],
    "channels": ["channel", "selected_n", "reached_n", "acceptance_rate", "kept.treated_value",
                 "kept.control_value", "kept.difference", "kept.ci_low", "kept.ci_high"],
    "executors": ["executor", "orders", "contact_rate", "success_rate", "kept.treated_value", "kept.control_value",
                  "kept.difference", "kept.ci_low", "kept.ci_high", "kept.raw_difference"],
    "strategies": ["segment_id", "strategy", "channel", "treated_n", "incremental_kept", "cost", "kept_per_yuan",
                   "per_yuan_ci_low", "per_yuan_ci_high", "evidence"],
}


@evaluate_app.command("segments")
def segments(month: MonthOpt, horizon: HorizonOpt = 1, as_json: JsonOpt = False, xlsx: XlsxOpt = None) -> None:
    """Churn, downgrade and satisfaction of treated against control, per segment of MONTH's plan."""
    _breakdown("segments", month, horizon, as_json, xlsx)


@evaluate_app.command("channels")
def channels(month: MonthOpt, horizon: HorizonOpt = 1, as_json: JsonOpt = False, xlsx: XlsxOpt = None) -> None:
    """Acceptance and kept-rate against the standardised control, per channel of MONTH's plan."""
    _breakdown("channels", month, horizon, as_json, xlsx)


@evaluate_app.command("executors")
def executors(month: MonthOpt, horizon: HorizonOpt = 1, as_json: JsonOpt = False, xlsx: XlsxOpt = None) -> None:
    """Contact, success and kept-rate per executor against the control of the same segment mix."""
    _breakdown("executors", month, horizon, as_json, xlsx)


@evaluate_app.command("strategies")
def strategies(
    month: Annotated[str | None, typer.Option("--month", help="One planned month; default: every evaluable "
                                              "month pooled.")] = None,
    horizon: HorizonOpt = 1, as_json: JsonOpt = False, xlsx: XlsxOpt = None,
    min_treated: Annotated[int | None, typer.Option("--min-treated", help="Treated customers needed for "
                                                    "sufficient evidence (default 200).")] = None,
) -> None:
    """Per segment: strategies and channels ranked by customers kept per yuan, with the evidence."""
    _breakdown("strategies", month, horizon, as_json, xlsx, min_treated)


def register(app: typer.Typer) -> None:
    """Add the evaluation commands to ``app``."""
    app.add_typer(evaluate_app, name="evaluate")
