"""tenure evaluate: one JSON document with --json, readable tables without."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from tenure.config import Settings
from tenure.interfaces.cli.commands import evaluation

from .builders import CAMPAIGN, MONTH, campaign_warehouse, snapshot_warehouse

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:  # a group, so that "evaluate" is a sub-command as in the real CLI
        pass

    evaluation.register(app)
    return app


def test_evaluate_campaign_json_and_table(settings: Settings) -> None:
    campaign_warehouse(settings.warehouse_dir, n_treated=200, n_control=200, treated_churn=10,
                       control_churn=20, months_after=1)
    res = runner.invoke(_app(), ["evaluate", "campaign", CAMPAIGN, "--month", MONTH, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    churn = doc["horizons"][0]["metrics"][0]
    assert churn["metric"] == "churn_rate" and abs(churn["difference"] + 0.05) < 1e-12
    assert doc["contacted_n"] is None  # the store holds no outcome for this month
    res = runner.invoke(_app(), ["evaluate", "campaign", CAMPAIGN, "--month", MONTH])
    assert res.exit_code == 0, res.output
    assert "200 treated, 200 control" in res.stdout and "Business effect" in res.stdout


def test_evaluate_snapshot(settings: Settings) -> None:
    snapshot_warehouse(settings.warehouse_dir)
    res = runner.invoke(_app(), ["evaluate", "snapshot", "--month", MONTH, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["core_customers"] == 4 and doc["retention"][0]["retained"] == 3
    res = runner.invoke(_app(), ["evaluate", "snapshot", "--month", MONTH])
    assert res.exit_code == 0 and "拍照保有率" in res.stdout
