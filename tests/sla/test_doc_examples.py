"""The examples in the enterprise domain docstrings run and hold."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from tenure.domain import calendar, finance, loyalty, sla


@pytest.mark.parametrize("module", [calendar, sla, finance, loyalty], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
