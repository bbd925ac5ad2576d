"""Fixtures of the model tests: one synthetic operator, run and trained once, shared by the slow tests.

Building it (generate 3,000 subscribers over 8 months, load, run every month, train a churn model
with --until 2026-09) is most of what the slow tests cost; the quality test and the held-out
calibration test judge the same run. Both carry ``xdist_group("synthetic_operator")`` so
``pytest -n 2 --dist loadgroup`` (make test) runs them in one worker and builds it once.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenure.config import Settings, get_settings

BENCH = Path(__file__).resolve().parents[2] / "bench" / "model_quality.py"
SYNTHETIC_GROUP = "synthetic_operator"


@pytest.fixture(scope="session")
def synthetic_operator_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``bench/model_quality.py``'s run on 3,000 subscribers, seed 3: (its home, its result)."""
    spec = importlib.util.spec_from_file_location("bench_model_quality_shared", BENCH)
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    home = tmp_path_factory.mktemp("synthetic-operator")
    return home, bench.run(home, subscribers=3000, seed=3)


@pytest.fixture
def synthetic_operator(synthetic_operator_run: tuple[Path, dict[str, Any]],
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, dict[str, Any]]]:
    """The shared run's settings (TENURE_HOME pointed at it for the test) and result."""
    home, result = synthetic_operator_run
    monkeypatch.setenv("TENURE_HOME", str(home))
    monkeypatch.setenv("TENURE_ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield get_settings(), result
    get_settings.cache_clear()
