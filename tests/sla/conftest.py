"""Fixtures for the enterprise domain tests: one shared statutory calendar."""

from __future__ import annotations

import pytest

from tenure.domain.calendar import WorkingCalendar


@pytest.fixture(scope="session")
def cal() -> WorkingCalendar:
    """The mainland calendar without operator days."""
    return WorkingCalendar()
