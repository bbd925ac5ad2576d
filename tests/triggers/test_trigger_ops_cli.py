"""tenure triggers status|pause|resume and tenure events dead-letters|replay."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tenure.domain.errors import NotFound
from tenure.interfaces.cli.commands import trigger_ops as ops_cli
from tenure.interfaces.cli.commands import triggers as triggers_cli

from .conftest import event, unique


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def main() -> None:
        pass

    triggers_cli.register(a)
    ops_cli.register(a)
    return a


def run(*args: str) -> object:
    return CliRunner().invoke(app(), list(args))


def test_pause_status_resume_and_replay(tenure_home: object, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build
    from tenure.config import get_settings
    from tenure.services.triggers import TriggerService, load_triggers

    r = run("triggers", "pause", "complaint_core", "--note", "maintenance", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["paused"] is True and json.loads(r.output)["paused_by"] == "system"
    doc = json.loads(run("triggers", "status", "--json").output)
    assert next(t for t in doc["triggers"] if t["trigger_id"] == "complaint_core")["paused"] is True
    assert isinstance(run("triggers", "pause", "no_such").exception, NotFound)  # exit 7 under `tenure`
    assert json.loads(run("triggers", "resume", "complaint_core", "--json").output)["paused"] is False

    services = build(get_settings())
    try:
        bad = {**event(unique("c")), "type": "spam"}
        assert TriggerService(services.uow, load_triggers()).process_event(bad, lambda s: None).decision == "dead_letter"
    finally:
        services.close()
    letters = json.loads(run("events", "dead-letters", "--open", "--json").output)
    assert letters["open"] == 1
    letter_id = str(letters["items"][0]["id"])
    assert run("events", "replay", letter_id).exit_code == 2  # still invalid
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps({**bad, "type": "bill_shock"}))
    r = run("events", "replay", letter_id, "--payload-file", str(fixed), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["decision"]["decision"] == "no_match"
    assert json.loads(run("events", "replay", letter_id, "--json").output)["already_replayed"] is True
    assert json.loads(run("events", "dead-letters", "--open", "--json").output)["open"] == 0
