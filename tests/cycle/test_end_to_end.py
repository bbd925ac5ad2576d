"""Synthetic operator -> load -> run-month, the way an operator uses Tenure."""

from __future__ import annotations

from pathlib import Path

from tenure.config import Settings
from tenure.engines.warehouse import Warehouse
from tenure.services.loading import load_directory
from tenure.services.monthly_cycle import run_month
from tenure.synthetic import generate


def test_synthetic_operator_runs_end_to_end(settings: Settings, tmp_path: Path) -> None:
    report = generate(tmp_path / "extracts", subscribers=300, months=6, seed=5, end="2026-06", fmt="parquet")
    load_directory(settings, tmp_path / "extracts")
    last = report.months[-1]
    summary = run_month(settings, last)
    wh = Warehouse(settings.warehouse_dir)
    profiles = wh.read_arrow("profiles", last, "output").to_pylist()
    assert summary.subscribers == len(profiles) > 0
    assert len({p["subscriber_id"] for p in profiles}) == len(profiles)
    assert set(summary.stages) <= set("ABCDE") and sum(summary.stages.values()) == len(profiles)
    assert summary.warnings > 0 and summary.groups > 0
    # the six loaded months are all in the history
    feats = wh.read_arrow("features", last, "output", columns=["months_of_history"]).column(0).to_pylist()
    assert max(feats) == 6
