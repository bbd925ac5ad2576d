"""The language reference documents every function and every shipped rule."""

from __future__ import annotations

from pathlib import Path

from tenure.domain.rules import FUNCTIONS
from tenure.services.rules import load_catalogue

DOC = Path(__file__).resolve().parents[2] / "docs" / "rule-language.md"


def test_reference_lists_every_function_and_shipped_rule() -> None:
    text = DOC.read_text(encoding="utf-8")
    for fn in FUNCTIONS.values():
        assert f"`{fn.signature()}`" in text, fn.name
    for rule in load_catalogue():
        assert f"`{rule.id}`" in text, rule.id
