"""docs/data-model.md is generated from the model and must not drift from it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tenure.domain.model import TABLES

ROOT = Path(__file__).resolve().parents[2]


def _script():
    spec = importlib.util.spec_from_file_location("data_model_doc", ROOT / "scripts" / "data_model_doc.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_data_model_doc_is_up_to_date() -> None:
    text = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert text == _script().render(), "run: python scripts/data_model_doc.py"


def test_data_model_doc_names_every_table_and_column() -> None:
    text = _script().render()
    for name, spec in TABLES.items():
        assert f"## `{name}`" in text
        for c in spec.columns:
            assert f"| `{c.name}` |" in text
            for a in c.allowed:
                assert f"`{a}`" in text
