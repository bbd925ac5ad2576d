"""The per-subscriber warning summary of the profiles: one aggregation, the same as ranking families in a window."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tenure.config import Settings
from tenure.domain.rules.catalogue import FAMILIES, FAMILY_PRIORITY
from tenure.engines.compute import Engine, connect
from tenure.services.monthly_cycle import _warning_summary


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    e = connect(Settings(home=tmp_path_factory.mktemp("summary"), environment="test"), "duckdb")
    yield e
    e.close()


def _ranked_in_a_window(warnings: ibis.Table, key: str) -> ibis.Table:
    """The summary as first written: count by key and family, rank the families, join the first back."""
    fam = warnings.group_by([warnings[key], warnings.family]).aggregate(n=warnings.count())
    urgency = ibis.cases(*[(fam.family == f, i) for i, f in enumerate(FAMILY_PRIORITY)])
    ranked = fam.mutate(
        r=ibis.row_number().over(ibis.window(group_by=fam[key], order_by=[ibis.desc(fam.n), urgency]))
    )
    top = ranked.filter(ranked.r == 0).select(_tk=ranked[key], top_warning_family=ranked.family)
    cnt = warnings.group_by(_wk=warnings[key]).aggregate(
        warning_count=warnings.count(),
        retention_warnings=(warnings.family == "retention").cast("int64").sum(),
    )
    return cnt.left_join(top, cnt._wk == top._tk).drop("_tk")


def _rows(eng: Engine, t: ibis.Table) -> list[tuple]:
    cols = ["_wk", "warning_count", "retention_warnings", "top_warning_family"]
    return sorted(tuple(r[c] for c in cols) for r in eng.to_arrow(t).to_pylist())


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["s1", "s2", "s3", "s4"]), st.sampled_from(sorted(FAMILIES))),
                min_size=1, max_size=40))
def test_summary_equals_ranking_families_in_a_window(eng: Engine, rows: list[tuple[str, str]]) -> None:
    data = pa.table({"subscriber_id": [k for k, _ in rows], "family": [f for _, f in rows]})
    w = eng.from_arrow(data, "warnings_summary_case")
    assert _rows(eng, _warning_summary(eng, w, "subscriber_id")) == _rows(eng, _ranked_in_a_window(w, "subscriber_id"))


def test_ties_go_to_the_most_urgent_family(eng: Engine) -> None:
    # a: two good-customer flags and two retention warnings; b: one of each of the other two; c: more maintenance.
    data = pa.table({"subscriber_id": ["a", "a", "a", "a", "b", "b", "c", "c", "c"],
                     "family": ["maintenance", "retention", "maintenance", "retention", "value_uplift", "prevention",
                                "maintenance", "maintenance", "retention"]})
    got = _rows(eng, _warning_summary(eng, eng.from_arrow(data, "warnings_ties"), "subscriber_id"))
    assert got == [("a", 4, 2, "retention"), ("b", 2, 0, "prevention"), ("c", 3, 1, "maintenance")]


def test_every_family_has_an_urgency() -> None:
    assert sorted(FAMILY_PRIORITY) == sorted(FAMILIES) and len(set(FAMILY_PRIORITY)) == len(FAMILY_PRIORITY)
