"""tenure evaluate segments|channels|executors|strategies: JSON, tables and Excel."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from tenure.bootstrap import build
from tenure.config import Settings
from tenure.interfaces.cli.commands import evaluation

from .breakdown_builders import MONTH, STRATEGY, breakdown_warehouse, store_plan

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        pass

    evaluation.register(app)
    return app


def test_breakdown_commands(settings: Settings, tmp_path: Path) -> None:
    breakdown_warehouse(settings.warehouse_dir)
    services = build(settings)
    try:
        store_plan(services)
    finally:
        services.close()
    res = runner.invoke(_app(), ["evaluate", "executors", "--month", MONTH, "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["executor"]: r for r in json.loads(res.stdout)["rows"]}
    assert abs(rows["mgr_hard"]["kept"]["difference"] - 0.30) < 1e-9
    res = runner.invoke(_app(), ["evaluate", "segments", "--month", MONTH])
    assert res.exit_code == 0, res.output
    assert "Segments · plan 2026-01" in res.stdout and "within each segment" in res.stdout
    xlsx = tmp_path / "strategies.xlsx"
    res = runner.invoke(_app(), ["evaluate", "strategies", "--min-treated", "100", "--json", "--xlsx", str(xlsx)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["best"]["B"]["strategy"] == STRATEGY
    from openpyxl import load_workbook

    assert load_workbook(xlsx)["strategies"].max_row > 1
    res = runner.invoke(_app(), ["evaluate", "channels", "--month", "2026-02"])
    assert res.exit_code != 0  # no plan that month: a clear error, not a traceback
