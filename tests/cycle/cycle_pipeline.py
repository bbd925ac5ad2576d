"""Run the cycle's expressions in memory on DuckDB (no rules step, nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

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


def by_id(rows: list[dict[str, Any]], key: str = "subscriber_id") -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in rows}


def compute(settings: Settings, month: str, buckets: int = 1, profiles: bool = True,
            scores: Callable[[pa.Table], pa.Table] | None = None) -> tuple[dict, dict]:
    """Features and profiles of ``month`` by subscriber id, without warnings.

    ``scores`` makes the model's scores table from the features table; the
    profiles are then built with it, as a run with a promoted model does.
    """
    eng = connect(settings, "duckdb")
    try:
        config = load_cycle_config(settings.home)
        inp = MonthInputs(Warehouse(settings.warehouse_dir), eng)
        parts = [eng.to_arrow(e) for e in staged_features(inp, month, config, eng, buckets)]
        feats = pa.concat_tables(parts)
        if not profiles:
            return by_id(feats.to_pylist()), {}
        ft = eng.from_arrow(feats, "features")
        warnings = eng.from_arrow(WARNING_SCHEMA.empty_table(), "warnings")
        scored = None if scores is None else eng.from_arrow(scores(feats), "scores")
        prof = eng.to_arrow(build_profiles(ft, config, _warning_summary(eng, warnings, "subscriber_id"), None, None,
                                           scores=scored))
        return by_id(feats.to_pylist()), by_id(prof.to_pylist())
    finally:
        eng.close()


