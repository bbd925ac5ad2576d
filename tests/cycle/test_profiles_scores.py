"""Profiles of a scored month: the model's columns arrive in one join and feed the potential value."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tenure.config import Settings

from .cycle_pipeline import compute


def test_scores_reach_the_profiles_and_the_potential_value(settings: Settings, operator, months) -> None:
    month = months[-1]
    given: dict[str, float] = {}

    def scores(feats: pa.Table) -> pa.Table:
        ids = feats.column("subscriber_id").to_pylist()
        rng = np.random.default_rng(3)
        scored = ids[: len(ids) - 5]  # a few subscribers without a score
        p = rng.uniform(0, 1, len(scored))
        given.update(zip(scored, p, strict=True))
        return pa.table({
            "subscriber_id": scored,
            "churn_probability": p,
            "risk_decile": rng.integers(1, 11, len(scored)),
            "model_id": ["churn/v0007"] * len(scored),
            "downgrade_probability": rng.uniform(0, 1, len(scored)),
        })

    feats, plain = compute(settings, month)
    _, rows = compute(settings, month, scores=scores)
    assert list(next(iter(rows.values())))[-3:] == ["risk_decile", "model_id", "downgrade_probability"]
    assert rows.keys() == plain.keys() and len(rows) == len(feats)
    assert len(given) == len(feats) - 5
    for sid, row in rows.items():
        if sid not in given:
            assert row["churn_probability"] is None and row["model_id"] is None
            assert row["potential_value"] == plain[sid]["potential_value"]
            continue
        assert row["churn_probability"] == pytest.approx(given[sid]) and row["model_id"] == "churn/v0007"
        # without a score the potential value is the trend's expectation; a score discounts it
        assert row["potential_value"] == pytest.approx(plain[sid]["potential_value"] * (1 - given[sid]), abs=0.011)
        assert row["stage"] == plain[sid]["stage"] and row["current_value"] == plain[sid]["current_value"]
