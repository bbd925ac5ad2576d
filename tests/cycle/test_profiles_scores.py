"""Profiles of a scored month: the model's columns arrive in one join and feed the potential value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tenure.config import Settings
from tenure.engines.compute import connect
from tenure.engines.warehouse import Warehouse
from tenure.services.monthly_cycle import (
    WARNING_SCHEMA,
    MonthInputs,
    _warning_summary,
    build_profiles,
    load_cycle_config,
    staged_features,
)


def test_scores_reach_the_profiles_and_the_potential_value(settings: Settings, operator, months) -> None:
    month = months[-1]
    eng = connect(settings, "duckdb")
    try:
        config = load_cycle_config(settings.home)
        inp = MonthInputs(Warehouse(settings.warehouse_dir), eng)
        feats = pa.concat_tables([eng.to_arrow(e) for e in staged_features(inp, month, config, eng, 1)])
        ids = feats.column("subscriber_id").to_pylist()
        rng = np.random.default_rng(3)
        scored = ids[: len(ids) - 5]  # a few subscribers without a score
        p = rng.uniform(0, 1, len(scored))
        scores = eng.from_arrow(pa.table({
            "subscriber_id": scored,
            "churn_probability": p,
            "risk_decile": rng.integers(1, 11, len(scored)),
            "model_id": ["churn/v0007"] * len(scored),
            "downgrade_probability": rng.uniform(0, 1, len(scored)),
        }), "scores")
        ft = eng.from_arrow(feats, "features")
        summary = _warning_summary(eng, eng.from_arrow(WARNING_SCHEMA.empty_table(), "warnings"), "subscriber_id")
        plain = {r["subscriber_id"]: r for r in eng.to_arrow(build_profiles(ft, config, summary, None, None)).to_pylist()}
        with_scores = eng.to_arrow(build_profiles(ft, config, summary, None, None, scores=scores))
    finally:
        eng.close()
    rows = {r["subscriber_id"]: r for r in with_scores.to_pylist()}
    assert with_scores.column_names[-3:] == ["risk_decile", "model_id", "downgrade_probability"]
    assert rows.keys() == plain.keys() and len(rows) == len(ids)
    given = dict(zip(scored, p, strict=True))
    for sid, row in rows.items():
        if sid not in given:
            assert row["churn_probability"] is None and row["model_id"] is None
            assert row["potential_value"] == plain[sid]["potential_value"]
            continue
        assert row["churn_probability"] == pytest.approx(given[sid]) and row["model_id"] == "churn/v0007"
        # without a score the potential value is the trend's expectation; a score discounts it
        assert row["potential_value"] == pytest.approx(plain[sid]["potential_value"] * (1 - given[sid]), abs=0.011)
        assert row["stage"] == plain[sid]["stage"] and row["current_value"] == plain[sid]["current_value"]
