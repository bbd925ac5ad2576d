"""Fixtures for the monthly-cycle tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


def _import_ibis_outside_tests() -> None:
    # tests/ is on sys.path (the root conftest lives there) and a test package
    # named tests/public would shadow the `public` package Ibis imports; load
    # Ibis once with tests/ out of the way.
    tests_dir = str(Path(__file__).resolve().parents[1])
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != tests_dir]
    try:
        import ibis  # noqa: F401
    finally:
        sys.path[:] = saved


_import_ibis_outside_tests()

from tenure.config import Settings
from tenure.domain.model import month_range

MONTHS = month_range("2026-01", "2026-06")


@pytest.fixture
def months() -> list[str]:
    return list(MONTHS)


@pytest.fixture
def operator(settings: Settings):
    """A random operator of 150 subscribers over six months in the test home."""
    from cycle_builders import random_operator

    return random_operator(settings.warehouse_dir, MONTHS, n_subscribers=150, seed=7)
