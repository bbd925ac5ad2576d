"""CLI commands of retention work: ``tenure campaign ...``, ``tenure plan-month``,
``tenure list export``, ``tenure work-order ...`` and ``tenure report weekly``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
AsOpt = Annotated[str, typer.Option("--as", help="User name making the change (their role decides what is allowed).")]

campaign_app = typer.Typer(help="Retention campaigns (维系方案): import, export, list, approval flow.",
                           no_args_is_help=True)
list_app = typer.Typer(help="Execution lists (执行清单) of a planned month.", no_args_is_help=True)
order_app = typer.Typer(help="Work orders (工单): outcomes and reassignment.", no_args_is_help=True)
report_app = typer.Typer(help="Tracking reports.", no_args_is_help=True)


def _services():  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build

    return build(get_settings())


def _campaigns():  # type: ignore[no-untyped-def]
    from tenure.services.campaigns import CampaignService

    return CampaignService(_services().uow)


def _print_campaigns(docs: list[dict[str, Any]], title: str) -> None:
    rows = [(d["campaign_id"], d["name"], d["status"], d["version"], ", ".join(d["channels"]),
             d["start_date"], d["end_date"], d["priority"]) for d in docs]
    console.print(table(title, ["id", "name", "status", "version", "channels", "start", "end", "priority"], rows))


@campaign_app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="Campaign YAML files (one campaign, or a list under campaigns:).")],
    as_user: Annotated[str | None, typer.Option("--as", help="User recorded as the author.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Store the campaigns of FILES as drafts (an existing draft is updated; others are refused)."""
    stored = _campaigns().import_files(as_user, files)
    docs = [s.to_dict() for s in stored]
    report(docs, as_json, lambda d: _print_campaigns(d, f"{len(d)} campaign(s) imported"))


@campaign_app.command("export")
def export(
    campaign_id: Annotated[str | None, typer.Argument(help="Campaign id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Export every campaign.")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print (or write) campaigns as YAML, ready to be imported again."""
    from tenure.domain.errors import InputError

    if (campaign_id is None) == (not all_):
        raise InputError("give a campaign id or --all")
    text = _campaigns().export_yaml(None if all_ else [campaign_id])  # type: ignore[list-item]
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


@campaign_app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="Only campaigns in this status.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stored campaigns with status and version."""
    docs = [s.to_dict() for s in _campaigns().find([status] if status else None)]
    report(docs, as_json, lambda d: _print_campaigns(d, "Campaigns"))

@campaign_app.command("offers")
def offers(
    all_: Annotated[bool, typer.Option("--all", help="Include retired offers.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The strategy-offer library (seeded from the shipped library on first use)."""
    docs = _campaigns().offers(include_retired=all_)
    report(docs, as_json, lambda d: console.print(table(
        "Offers", ["strategy", "offer", "name", "unit cost", "validity days", "active", "source"],
        [(o["strategy_id"], o["offer_id"], o["name"], o["unit_cost"], o["validity_days"], o["active"], o["source"])
         for o in d])))


@campaign_app.command("offer-add")
def offer_add(
    strategy_id: Annotated[str, typer.Argument(help="Strategy kind, e.g. bill_credit_promotion.")],
    offer_id: Annotated[str, typer.Argument(help="New offer id (lower case, digits, _ or -).")],
    name: Annotated[str, typer.Option("--name", help="Offer name.")],
    unit_cost: Annotated[float, typer.Option("--unit-cost", help="Cost per accepted offer, yuan.")],
    as_user: AsOpt,
    validity_days: Annotated[int, typer.Option("--validity-days", help="Days the offer stands once made.")] = 30,
    name_zh: Annotated[str, typer.Option("--name-zh", help="Chinese name.")] = "",
    description: Annotated[str, typer.Option("--description")] = "",
    eligibility: Annotated[str, typer.Option("--eligibility", help="Who may get it, in the rule language.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Add an offer to the strategy library (retention managers and administrators)."""
    doc = _campaigns().add_offer(as_user, strategy_id, offer_id, name, unit_cost, validity_days, name_zh,
                                 description, eligibility)
    report(doc, as_json, lambda d: console.print(f"added {d['strategy_id']}/{d['offer_id']} ({d['unit_cost']} yuan)"))


@campaign_app.command("offer-retire")
def offer_retire(
    strategy_id: Annotated[str, typer.Argument(help="Strategy kind.")],
    offer_id: Annotated[str, typer.Argument(help="Offer id.")],
    as_user: AsOpt,
) -> None:
    """Retire an offer: new campaigns may no longer use it; campaigns that have it keep it."""
    doc = _campaigns().retire_offer(as_user, strategy_id, offer_id)
    console.print(f"{doc['strategy_id']}/{doc['offer_id']}: {'active' if doc['active'] else 'retired'}")


@campaign_app.command("list-upload")
def list_upload(
    file: Annotated[Path, typer.Argument(help="CSV: subscriber_id column, optional msisdn, channel, kind.",
                                         exists=True, dir_okay=False)],
    kind: Annotated[str, typer.Option("--kind", help="do_not_disturb or opt_out (for lines that leave it empty).")],
    channel: Annotated[str, typer.Option("--channel", help="A channel, or * for every channel.")] = "*",
    as_user: Annotated[str | None, typer.Option("--as", help="User recorded in the audit log.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a file of subscribers to a do-not-disturb or opt-out list; bad lines are listed with their reason."""
    from tenure.services.contact_lists import ContactListService

    svc = _services()
    result = ContactListService(svc.uow, tuple(svc.settings.pii_roles)).upload(
        as_user, file.read_bytes(), kind, channel, source=file.name).to_dict()

    def _show(d: dict[str, Any]) -> None:
        console.print(f"{d['lines']} line(s): {d['added']} added, {d['duplicates']} already listed, "
                      f"{len(d['errors'])} bad")
        for e in d["errors"]:
            console.print(f"  line {e['line']}: {e['reason']}")

    report(result, as_json, _show)
    if result["errors"]:
        raise typer.Exit(1)


@campaign_app.command("suppress")
def suppress(
    subscriber_id: Annotated[str, typer.Argument(help="Subscriber id.")],
    kind: Annotated[str, typer.Option("--kind", help="do_not_disturb or opt_out.")],
    channel: Annotated[str, typer.Option("--channel", help="A channel, or * for every channel.")] = "*",
    remove: Annotated[bool, typer.Option("--remove", help="Take the subscriber off the list.")] = False,
    as_user: Annotated[str | None, typer.Option("--as", help="User recorded in the audit log.")] = None,
) -> None:
    """Put a subscriber on (or take them off) a do-not-disturb or opt-out list."""
    svc = _campaigns()
    changed = (svc.unsuppress if remove else svc.suppress)(as_user, subscriber_id, channel, kind)
    console.print(("removed" if remove else "added") if changed else "no change")



def _transition(verb: str):  # type: ignore[no-untyped-def]
    def command(
        campaign_id: Annotated[str, typer.Argument(help="Campaign id.")],
        as_user: AsOpt,
        as_json: JsonOpt = False,
    ) -> None:
        svc = _campaigns()
        stored = getattr(svc, verb)(as_user, campaign_id)
        doc = stored.to_dict()
        report(doc, as_json, lambda d: console.print(f"{d['campaign_id']}: {d['status']} (version {d['version']})"))

    command.__doc__ = f"{verb.capitalize()} a campaign (the approval flow decides who may)."
    return command


for _verb in ("submit", "approve", "start", "close"):
    campaign_app.command(_verb)(_transition(_verb))


def _plan_service():  # type: ignore[no-untyped-def]
    from tenure.services.monthly_plan import MonthlyPlanService

    svc = _services()
    s = svc.settings
    return MonthlyPlanService(svc.uow, svc.warehouse, s.home, threads=s.duckdb_threads,
                              memory_limit=s.duckdb_memory_limit)


def plan_month_command(
    month: Annotated[str, typer.Argument(help="Month to plan, YYYY-MM.")],
    as_user: Annotated[str | None, typer.Option("--as", help="User recorded in the audit log.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Plan a month: decisions for every considered subscriber, execution lists and work orders.

    Re-running a month replaces its plan (orders that already have an outcome are kept).
    """
    doc = _plan_service().plan(month, as_user)

    def render(d: dict[str, Any]) -> None:
        rows = [(c["campaign_id"], c["considered"], c["selected"], c["control"], c["global_control"],
                 c["lost_arbitration"], c["over_capacity"],
                 ", ".join(f"{k} {v}" for k, v in c["suppressed"].items() if v)) for c in d["campaigns"]]
        t = d["totals"]
        rows.append(("total", t["considered"], t["decisions"]["selected"], t["decisions"]["control"],
                     t["decisions"]["global_control"], t["decisions"]["lost_arbitration"],
                     t["decisions"]["over_capacity"], ", ".join(f"{k} {v}" for k, v in t["suppressed"].items() if v)))
        console.print(table(f"Plan {d['month']}", ["campaign", "considered", "selected", "control", "global control",
                                                   "lost arbitration", "over capacity", "suppressed"], rows))
        console.print(table("Channels", ["channel", "planned", "capacity", "utilisation"],
                            [(c["channel"], c["planned"], c["capacity"], c["utilisation"]) for c in d["channels"]]))
        st = d["stored"]
        console.print(f"{st['work_orders']} work order(s) stored; {st['replaced']} replaced; "
                      f"{st['kept_with_outcomes']} kept (already worked); {st['unassigned']} without an owner")
        for w in d["warnings"]:
            console.print(f"warning: {w}", markup=False)

    report(doc, as_json, render)


def _execution():  # type: ignore[no-untyped-def]
    from tenure.services.execution import ExecutionService

    svc = _services()
    return ExecutionService(svc.uow, pii_roles=tuple(getattr(svc.settings, "pii_roles", ["administrator"])))


@list_app.command("export")
def list_export(
    month: Annotated[str, typer.Option("--month", help="Planned month, YYYY-MM.")],
    channel: Annotated[str, typer.Option("--channel", help="Channel, e.g. outbound_call, sms, account_manager.")],
    out: Annotated[Path, typer.Option("--out", help="Excel file to write (.xlsx).")],
    as_user: Annotated[str | None, typer.Option("--as", help="User pulling the list (phone numbers are masked "
                                                             "unless their role may see them).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write one channel's execution list of a month to Excel (with an outcomes sheet to fill in)."""
    n = _execution().export_xlsx(as_user, month, channel, out)
    report({"month": month, "channel": channel, "rows": n, "file": str(out)}, as_json,
           lambda d: console.print(f"wrote {d['rows']} row(s) to {d['file']}"))


@order_app.command("upload")
def order_upload(
    file: Annotated[Path, typer.Argument(help="Excel workbook with an outcomes sheet.")],
    as_user: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """Record outcomes from Excel; bad rows are listed with line and reason; re-uploads never count twice."""
    res = _execution().upload_outcomes(as_user, file)

    def render(d: dict[str, Any]) -> None:
        console.print(f"{d['recorded']} recorded, {d['duplicates']} already recorded, {len(d['errors'])} rejected")
        if d["errors"]:
            console.print(table("Rejected rows", ["line", "reason"], [(e["line"], e["reason"]) for e in d["errors"]]))

    report(res.to_dict(), as_json, render)
    if res.errors:
        raise typer.Exit(2)


@order_app.command("reassign")
def order_reassign(
    order_id: Annotated[int, typer.Argument(help="Work order id.")],
    to: Annotated[str, typer.Option("--to", help="Account manager who takes the order.")],
    as_user: AsOpt,
    as_json: JsonOpt = False,
) -> None:
    """Move a work order to another account manager's queue (channel owners)."""
    doc = _execution().reassign(as_user, order_id, to)
    report(doc, as_json, lambda d: console.print(f"work order {d['work_order_id']} -> {d['assignee']}"))


@order_app.command("list")
def order_list(
    as_user: AsOpt,
    month: Annotated[str | None, typer.Option("--month")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A user's open work orders."""
    docs = _execution().queue(as_user, month)
    report(docs, as_json, lambda d: console.print(table(
        "Work orders", ["id", "campaign", "customer", "phone", "channel", "due", "assignee"],
        [(o["work_order_id"], o["campaign_id"], o["customer_id"], o["msisdn"], o["channel"], o["due_date"],
          o["assignee"]) for o in d])))


@report_app.command("weekly")
def report_weekly(
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W46.")],
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the report to this Excel file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Weekly tracking (周报): planned, contacted, reached, accepted, refused (with reasons) per campaign,
    segment, channel and executor."""
    from tenure.services.weekly_report import weekly_report, write_xlsx

    doc = weekly_report(_services().uow, week)
    if xlsx is not None:
        write_xlsx(doc, xlsx)

    def render(d: dict[str, Any]) -> None:
        def line(label: tuple, r: dict) -> tuple:
            return (*label, r["planned"], r["contacted"], r["reached"], r["accepted"], r["refused"],
                    ", ".join(f"{k} {v}" for k, v in r["reasons"].items()))
        rows = [line((r["campaign_id"], r["segment_id"], r["channel"], r["executor"]), r) for r in d["rows"]]
        rows.append(line(("total", "", "", ""), d["totals"]))
        console.print(table(f"Week {d['week']} ({d['first_day']} – {d['last_day']})",
                            ["campaign", "segment", "channel", "executor", "planned", "contacted", "reached",
                             "accepted", "refused", "reasons"], rows))
        if xlsx is not None:
            console.print(f"wrote {xlsx}")

    report(doc, as_json, render)


def register(app: typer.Typer) -> None:
    """Add the retention-work commands to ``app``."""
    app.add_typer(campaign_app, name="campaign")
    app.command("plan-month")(plan_month_command)
    app.add_typer(list_app, name="list")
    app.add_typer(order_app, name="work-order")
    app.add_typer(report_app, name="report")
