"""Fixtures for the churn model tests: synthetic tables and slices of the reference data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.services.model_benchmark import IBM_TELCO, shared_data_dir

from .builders import imbalanced_table


@pytest.fixture(scope="session")
def synthetic() -> tuple[pd.DataFrame, np.ndarray]:
    return imbalanced_table(3000, seed=1)


@pytest.fixture(scope="session")
def ibm_csv() -> Path:
    path = shared_data_dir() / IBM_TELCO.path
    if not path.is_file():
        pytest.skip(f"reference data not present: {path}")
    return path


@pytest.fixture
def ibm_slice(ibm_csv: Path, tmp_path: Path) -> Path:
    """The first 1,500 customers of the IBM Telco table, as a CSV."""
    out = tmp_path / "telco-1500.csv"
    pd.read_csv(ibm_csv, dtype=str, keep_default_na=False).head(1500).to_csv(out, index=False)
    return out
