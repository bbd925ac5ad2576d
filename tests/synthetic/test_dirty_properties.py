"""Invariants of defect injection, for any table, rate and seed."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.model import TABLES
from tenure.synthetic.calendar import Window
from tenure.synthetic.dirty import inject
from tenure.synthetic.population import build_chunk
from tenure.synthetic.tables import MonthState

MONTH = "2026-10"


@lru_cache(maxsize=1)
def _tables() -> dict[str, pa.Table]:
    state = MonthState(build_chunk(3, 0, 400, Window.ending(MONTH, 2)), 1, 3)
    out = {name: getattr(state, name)() for name in TABLES if name != "daily_usage"}
    out["daily_usage"] = next(state.daily_usage())
    return out


@settings(max_examples=40, deadline=None)
@given(table=st.sampled_from(sorted(TABLES)), rate=st.floats(0.001, 0.3), seed=st.integers(0, 2**32 - 1))
def test_every_defect_is_where_it_is_recorded(table: str, rate: float, seed: int) -> None:
    data = _tables()[table]
    out, defects = inject(table, data, rate, MONTH, np.random.default_rng(seed))
    dups = [d for d in defects if d.kind == "duplicate_row"]
    assert out.num_rows == data.num_rows + len(dups)
    assert out.schema == data.schema
    rows = out.to_pylist()
    assert len({d.row for d in defects}) == len(defects)  # one defect per row
    for d in defects:
        assert 0 <= d.row < out.num_rows
        if d.kind == "duplicate_row":
            assert rows[d.row] == rows[d.row - 1]
        else:
            value = rows[d.row][d.column]
            assert str(value) == d.value or float(value) == float(d.value)
    # Rows without a defect are unchanged and in their original order.
    touched = {d.row for d in defects}
    clean = [r for i, r in enumerate(rows) if i not in touched]
    originals = data.to_pylist()
    assert all(r in originals for r in clean[:50])
