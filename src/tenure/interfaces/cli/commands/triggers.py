"""CLI commands: triggers (moments of truth: list the trigger rules, consume events from the bus)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table

triggers_app = typer.Typer(
    help="Moments of truth: real-time events that create work orders exactly once.", no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _trigger_dir() -> Path:
    """The operator's triggers in <home>/config/triggers when that folder exists, else the shipped examples."""
    from tenure.services.triggers import SHIPPED_TRIGGERS

    own = get_settings().home / "config" / "triggers"
    return own if own.is_dir() else SHIPPED_TRIGGERS


@triggers_app.command("list")
def list_triggers(as_json: JsonOpt = False) -> None:
    """The trigger rules in force."""
    from tenure.services.triggers import load_triggers

    doc = [t.to_dict() for t in load_triggers(_trigger_dir())]

    def render(rows: list[dict[str, Any]]) -> None:
        console.print(table("Triggers", ["id", "name", "名称", "event", "condition", "action", "due (h)",
                                         "control", "enabled"],
                            [[r["id"], r["name"], r["name_zh"], r["event_type"], r["condition"], r["action"],
                              r["due_within_hours"], f"{r['control_share']:.0%}", r["enabled"]] for r in rows]))

    report(doc, as_json, render)


@triggers_app.command("consume")
def consume(
    max_events: Annotated[int | None, typer.Option("--max-events", help="Stop after this many events.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Stop after this many seconds without events.")] = 5.0,
    url: Annotated[str, typer.Option("--url", envvar="TENURE_NATS_URL", help="NATS server.")] = (
        "nats://127.0.0.1:4222"),
    stream: Annotated[str, typer.Option("--stream", help="JetStream stream.")] = "TENURE_EVENTS",
    subject: Annotated[str, typer.Option("--subject", help="Subjects of events.")] = "tenure.events.>",
    deadletter: Annotated[str, typer.Option("--deadletter", help="Subject of dead letters.")] = "tenure.deadletter",
    durable: Annotated[str, typer.Option("--durable", help="Durable consumer name.")] = "tenure-triggers",
    as_json: JsonOpt = False,
) -> None:
    """Consume events from JetStream (stream TENURE_EVENTS, subject tenure.events.>) and act on them."""
    from tenure.bootstrap import build
    from tenure.engines.events_nats import NatsConfig, NatsEventSource
    from tenure.services.triggers import TriggerService, load_triggers
    from tenure.services.warning_profiles import trigger_profiles

    services = build(get_settings())
    svc = TriggerService(services.uow, load_triggers(_trigger_dir()))
    lookup = trigger_profiles(services, svc.triggers)  # profiles + open manual warnings
    source = NatsEventSource(NatsConfig(url=url, stream=stream, subject=subject, deadletter_subject=deadletter,
                                        durable=durable))
    result = source.consume_batches(lambda batch: svc.process_batch(batch, lookup, source="nats"),
                                    max_events=max_events, idle_timeout=timeout)
    doc = result.to_dict()

    def render(d: dict[str, Any]) -> None:
        console.print(table(f"Events handled: {d['handled']}", ["decision", "events"],
                            sorted(d["decisions"].items())))

    report(doc, as_json, render)


def register(app: typer.Typer) -> None:
    """Add the triggers commands to ``app``."""
    app.add_typer(triggers_app, name="triggers")
