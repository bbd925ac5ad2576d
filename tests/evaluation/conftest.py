"""Fixtures of the evaluation tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .response_builders import ResponseRun, run_operator


@pytest.fixture(scope="session")
def response_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResponseRun]:
    """A synthetic operator planned in two months, whose treated arms responded (shared: it takes a minute)."""
    run = run_operator(tmp_path_factory.mktemp("respond-home"))
    yield run
    run.services.close()
