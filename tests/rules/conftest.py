"""Fixtures for rule tests; builders live in rule_builders.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ibis
import pytest


@pytest.fixture(scope="session")
def con() -> Iterator[Any]:
    backend = ibis.duckdb.connect(threads=1)
    yield backend
    backend.disconnect()


@pytest.fixture
def rules_home(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A fresh TENURE_HOME (the CLI reads settings from the environment)."""
    from tenure.config import get_settings

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TENURE_HOME", str(home))
    monkeypatch.setenv("TENURE_ENVIRONMENT", "test")
    monkeypatch.setenv("TENURE_DUCKDB_THREADS", "1")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
