"""CLI commands of trigger operations: ``tenure triggers status|pause|resume`` and
``tenure events dead-letters|replay`` (the same service as the /triggers page and the API)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.commands.triggers import _trigger_dir, triggers_app
from tenure.interfaces.cli.output import console, report, table

events_app = typer.Typer(help="Events of the intake: dead letters and their replay.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
AsOpt = Annotated[str | None, typer.Option("--as", help="User recorded in the audit log (default: system).")]


@contextmanager
def _ops() -> Iterator[Any]:
    from tenure.bootstrap import build
    from tenure.services.trigger_ops import TriggerOpsService
    from tenure.services.triggers import TriggerService, load_triggers
    from tenure.services.warning_profiles import trigger_profiles

    services = build(get_settings())
    try:
        svc = TriggerService(services.uow, load_triggers(_trigger_dir()))
        lookup = trigger_profiles(services, svc.triggers)  # profiles + open manual warnings
        yield TriggerOpsService(services.uow, lambda: (svc, lookup),
                                pii_roles=tuple(getattr(services.settings, "pii_roles", ["administrator"])))
    finally:
        services.close()


def status(as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Each trigger: running or paused, events of the last hour and today (UTC), latency p50/p99 in ms."""
    with _ops() as ops:
        doc = ops.status(as_user)

    def render(d: dict[str, Any]) -> None:
        rows = [[t["trigger_id"], "paused" if t["paused"] else ("running" if t["enabled"] else "disabled"),
                 f"{t['hour']['events']} / {t['today']['events']}", f"{t['hour']['selected']} / {t['today']['selected']}",
                 f"{t['hour']['control']} / {t['today']['control']}",
                 f"{t['hour']['suppressed']} / {t['today']['suppressed']}",
                 f"{t['latency']['p50']} / {t['latency']['p99']}" if t["latency"]["n"] else "–"]
                for t in d["triggers"]]
        console.print(table("Triggers (last hour / today)", ["id", "state", "events", "selected", "control",
                                                              "suppressed", "p50 / p99 ms"], rows))
        console.print(f"Open dead letters: {d['dead_letters']['open']}")

    report(doc, as_json, render)


def pause(trigger_id: Annotated[str, typer.Argument(help="Trigger id.")],
          note: Annotated[str, typer.Option("--note", help="Why it is paused.")] = "",
          as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Pause a trigger: its events are recorded as suppressed ("trigger paused") until it is resumed."""
    with _ops() as ops:
        doc = ops.pause(as_user, trigger_id, note)
    report(doc, as_json, lambda d: console.print(
        f"{d['trigger_id']}: paused" + ("" if d["changed"] else " (it already was)")))


def resume(trigger_id: Annotated[str, typer.Argument(help="Trigger id.")],
           as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Resume a paused trigger."""
    with _ops() as ops:
        doc = ops.resume(as_user, trigger_id)
    report(doc, as_json, lambda d: console.print(
        f"{d['trigger_id']}: running" + ("" if d["changed"] else " (it was not paused)")))


@events_app.command("dead-letters")
def dead_letters(open_only: Annotated[bool, typer.Option("--open", help="Only those not replayed.")] = False,
                 limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
                 as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Dead letters, newest first."""
    with _ops() as ops:
        doc = ops.dead_letters(as_user, limit, include_replayed=not open_only)

    def render(d: dict[str, Any]) -> None:
        console.print(table(f"Dead letters: {d['open']} open, {d['replayed']} replayed",
                            ["id", "received", "source", "event", "reason", "replayed"],
                            [[r["id"], r["received_at"], r["source"], r["event_id"] or "–", r["reason"],
                              r["replay"]["decision"] if r["replayed"] else ""] for r in d["items"]]))

    report(doc, as_json, render)


@events_app.command("replay")
def replay(dead_letter_id: Annotated[int, typer.Argument(help="Dead letter id.", min=1, max=2**31 - 1)],
           payload_file: Annotated[Path | None, typer.Option("--payload-file", exists=True, dir_okay=False,
                                                             help="A corrected payload (JSON) to submit instead.")] = None,
           as_user: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Submit a dead letter again through the intake; a second replay does nothing. Exit 2 when still invalid."""
    payload = payload_file.read_text(encoding="utf-8") if payload_file else None
    with _ops() as ops:
        doc = ops.replay(as_user, dead_letter_id, payload)

    def render(d: dict[str, Any]) -> None:
        if not d["replayed"]:
            console.print(f"dead letter {dead_letter_id} is still invalid: {d['dead_letter']['reason']}")
        elif d["already_replayed"]:
            console.print(f"dead letter {dead_letter_id} had already been replayed; nothing done")
        else:
            console.print(f"dead letter {dead_letter_id} replayed: {d['decision']['decision']} "
                          f"({d['decision']['reason']})")

    report(doc, as_json, render)
    if not doc["replayed"]:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add the operations commands to ``tenure triggers`` and the ``tenure events`` group."""
    present = {c.name for c in triggers_app.registered_commands}
    for name, fn in (("status", status), ("pause", pause), ("resume", resume)):
        if name not in present:  # register() may run once per app built (tests build several)
            triggers_app.command(name)(fn)
    app.add_typer(events_app, name="events")
