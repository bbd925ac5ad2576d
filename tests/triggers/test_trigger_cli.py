"""tenure triggers list / consume through the command group."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from tenure.interfaces.cli.commands import triggers as triggers_cli
from tenure.services.triggers import load_triggers

from .conftest import event, unique
from .test_trigger_nats import bus  # noqa: F401 - the fixture


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def main() -> None:
        pass

    triggers_cli.register(a)
    return a


def test_list_json_is_the_shipped_triggers(tenure_home: object) -> None:
    r = CliRunner().invoke(app(), ["triggers", "list", "--json"])
    assert r.exit_code == 0, r.output
    assert [t["id"] for t in json.loads(r.output)] == [t.trigger_id for t in load_triggers()]


@pytest.mark.slow
def test_consume_acts_on_published_events(tenure_home: object, bus) -> None:  # noqa: F811
    from tenure.engines.events_nats import publish

    payloads = [json.dumps(event(unique("c"), type="bill_shock")).encode() for _ in range(3)]
    publish(bus, [*payloads, b"not json"], subject=bus.subject.replace(">", "bill"))
    r = CliRunner().invoke(app(), ["triggers", "consume", "--max-events", "4", "--timeout", "3", "--json",
                                   "--url", bus.url, "--stream", bus.stream, "--subject", bus.subject,
                                   "--deadletter", bus.deadletter_subject, "--durable", bus.durable])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["handled"] == 4 and doc["dead_letters"] == 1 and doc["decisions"]["no_match"] == 3
