"""Fixtures for the monthly-cycle tests."""

from __future__ import annotations

import pytest

from tenure.config import Settings
from tenure.domain.model import month_range

MONTHS = month_range("2026-01", "2026-06")


@pytest.fixture
def months() -> list[str]:
    return list(MONTHS)


@pytest.fixture
def operator(settings: Settings):
    """A random operator of 150 subscribers over six months in the test home."""
    from .cycle_builders import random_operator

    return random_operator(settings.warehouse_dir, MONTHS, n_subscribers=150, seed=7)
