"""The key-accounts CLI jobs on a Tenure home: visits are scheduled once, discovery adds nothing on rerun."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tenure.interfaces.cli.commands import key_accounts

from .ent_web_builders import build_group_warehouse


def test_jobs_are_idempotent(tenure_home) -> None:  # type: ignore[no-untyped-def]
    build_group_warehouse(tenure_home / "warehouse")
    app = typer.Typer()
    key_accounts.register(app)

    @app.callback()
    def _root() -> None:
        pass

    runner = CliRunner()
    first = runner.invoke(app, ["key-accounts", "visits", "--json"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.output)
    assert doc["generated"]["created"] == 1  # the one fixed fault of a group member
    assert doc["coverage"]["due"] == doc["coverage"]["done"] + doc["coverage"]["open"] + doc["coverage"]["overdue"]
    again = json.loads(runner.invoke(app, ["key-accounts", "visits", "--json"]).output)
    assert again["generated"]["created"] == 0
    found = json.loads(runner.invoke(app, ["key-accounts", "discover", "--month", "2026-03", "--json"]).output)
    assert found["added"] == found["found"] >= 1
    rerun = json.loads(runner.invoke(app, ["key-accounts", "discover", "--month", "2026-03", "--json"]).output)
    assert rerun["added"] == 0
    comp = runner.invoke(app, ["key-accounts", "compensation"])
    assert comp.exit_code == 0 and "total" in comp.output
