"""On the synthetic operator: the model beats the rules at the same coverage, its
reasons name the generator's true causes, and run-month scores with it."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
import pytest

from tenure.config import Settings
from tenure.domain.errors import ConfigurationError
from tenure.engines.warehouse import Warehouse
from tenure.services import models
from tenure.services.monthly_cycle import run_month


@pytest.mark.slow
@pytest.mark.xdist_group("synthetic_operator")  # built once with the calibration test (conftest.py)
def test_model_beats_rules_and_names_true_causes(synthetic_operator: tuple[Settings, dict[str, Any]]) -> None:
    settings, result = synthetic_operator  # bench/model_quality.py's run, shared with the calibration test
    assert result["coverage"] > 0 and result["leavers"] > 0
    assert result["model_precision"] > result["rules_precision"]
    assert result["reasons"]["caught_with_cause"] >= 10
    assert result["reasons"]["share_top5"] > 0.5

    # promote it and re-run the newest month: profiles and reasons come from the model
    models.promote_model(settings, result["model_id"])
    summary = run_month(settings, "2026-10", buckets=1)
    assert summary.scoring["churn_model"] == result["model_id"]
    assert "score_psi" in summary.drift and "warning" in summary.drift
    wh = Warehouse(settings.warehouse_dir)
    prof = pq.read_table(wh.path("profiles", "2026-10", "output")).to_pandas()
    assert prof.churn_probability.notna().all()
    assert set(prof.risk_decile) == set(range(1, 11))
    assert (prof.model_id == result["model_id"]).all()
    reasons = pq.read_table(wh.path("reasons", "2026-10", "output")).to_pandas()
    assert 0 < reasons.subscriber_id.nunique() <= -(-len(prof) * 5 // 100)
    assert set(prof.set_index("subscriber_id").loc[reasons.subscriber_id.unique(), "risk_decile"]) <= {9, 10}

    # scoring runs in a thread beside the groups and warnings: its error still fails
    # the run, and the month's published outputs stay as they were
    published = wh.path("profiles", "2026-10", "output")
    config = settings.home / "config" / "early_warning.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("action_share: 2\n")
    try:
        with pytest.raises(ConfigurationError, match="action_share"):
            run_month(settings, "2026-10", buckets=1)
    finally:
        config.unlink()
    assert Warehouse(settings.warehouse_dir).path("profiles", "2026-10", "output") == published
    assert pq.read_table(published).num_rows == len(prof)
