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
