"""CLI: ``tenure report insight KIND`` (programme KPIs, customer insight, account-manager appraisal)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table
from tenure.services.insight import KINDS

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


class _Operator:
    """The installation's operator at the shell: reads every report (like the other CLI reports)."""

    user_id = 0
    name = "cli"
    role = "administrator"
    scope = "all"
    regions: tuple[str, ...] = ()


def _cell(v: Any, fmt: str) -> str:
    if v is None:
        return "-"
    if fmt == "pct":
        return f"{v:.1%}"
    if fmt in ("money", "num"):
        return f"{v:,.2f}"
    if fmt == "int" and isinstance(v, (int, float)):
        return f"{int(v):,}"
    return str(v)


def _print(doc: dict[str, Any]) -> None:
    flt = ", ".join(f"{k} {v}" for k, v in doc["filters"].items() if v)
    console.print(f"[bold]{doc['kind']}[/bold] {doc['month']}" + (f" ({flt})" if flt else ""))
    for k, v in doc["summary"].items():
        console.print(f"  {k}: {v}")
    for t in doc["tables"]:
        console.print(table(t["title"], [c["label"] for c in t["columns"]],
                            [[_cell(v, c["fmt"]) for v, c in zip(r, t["columns"], strict=True)] for r in t["rows"]]))
    for n in doc["notes"]:
        console.print(f"[dim]{n}[/dim]")


def insight(
    kind: Annotated[str, typer.Argument(help="One of " + ", ".join(KINDS) + ".")],
    month: Annotated[str, typer.Option("--month", help="Month YYYY-MM.")],
    region: Annotated[str | None, typer.Option("--region", help="Only this region (operator branch).")] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Only this segment.")] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the report to this Excel file.")] = None,
    as_user: Annotated[str | None, typer.Option("--as", help="Read as this user (their role and portfolio "
                                                "decide what is shown); default: the operator, everything.")]
    = None,
    as_json: JsonOpt = False,
) -> None:
    """Programme KPIs, customer insight (客户洞察) or the account-manager appraisal (绩效考核) for MONTH."""
    from tenure.bootstrap import build
    from tenure.domain.errors import NotFound
    from tenure.services.insight import insight_service, read_report, workbook

    services = build(get_settings())
    try:
        principal: Any = _Operator()
        if as_user:
            with services.uow() as uow:
                user = uow.users.by_name(as_user)
                user_id = None if user is None else user.id
            if user_id is None:
                raise NotFound(f"no user {as_user!r}")
            principal = services.auth.principal_for(user_id)
        doc = read_report(insight_service(services), principal, kind, month, region, segment)
    finally:
        services.close()
    if xlsx is not None:
        xlsx.parent.mkdir(parents=True, exist_ok=True)
        xlsx.write_bytes(workbook(doc))
        if not as_json:
            console.print(f"wrote {xlsx}")
    report(doc, as_json, _print)


def register(app: typer.Typer) -> None:
    """Add ``insight`` to the ``report`` group (registered by the campaigns module)."""
    from tenure.interfaces.cli.commands.campaigns import report_app

    report_app.command("insight")(insight)
