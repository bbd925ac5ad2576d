"""Every subscriber is in exactly one lifecycle stage, whatever its features."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.analytics.lifecycle import lifecycle_stages
from tenure.domain.lifecycle import STAGE_CODES, LifecycleConfig
from tenure.engines.compute import connect
from tenure.services.monthly_cycle import load_cycle_config

COLUMNS = {
    "status": (pa.string(), st.sampled_from(["active", "suspended", "churned"])),
    "arrears_m0": (pa.float64(), st.sampled_from([0.0, 12.5, 300.0])),
    "tenure_months": (pa.int64(), st.integers(0, 120)),
    "arpu_consecutive_declines": (pa.int64(), st.integers(0, 5)),
    "arpu_pct_change": (pa.float64(), st.floats(-1, 3, allow_nan=False)),
    "mou_pct_change": (pa.float64(), st.floats(-1, 3, allow_nan=False)),
    "port_out_inquiries_3m": (pa.int64(), st.integers(0, 2)),
    "retention_warnings": (pa.int64(), st.integers(0, 3)),
    "value_level": (pa.int64(), st.integers(1, 5)),
}


@st.composite
def operators(draw: st.DrawFn) -> pa.Table:
    n = draw(st.integers(1, 40))
    cols: dict[str, list] = {"subscriber_id": [f"S{i}" for i in range(n)]}
    for name, (_, strategy) in COLUMNS.items():
        cols[name] = [draw(st.one_of(st.none(), strategy)) for _ in range(n)]
    schema = pa.schema([("subscriber_id", pa.string())] + [(k, t) for k, (t, _) in COLUMNS.items()])
    return pa.table(cols, schema=schema)


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory):
    from tenure.config import Settings

    eng = connect(Settings(home=tmp_path_factory.mktemp("lc"), environment="test"), "duckdb")
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> LifecycleConfig:
    return load_cycle_config(tmp_path_factory.mktemp("cfg")).lifecycle


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=operators())
def test_every_subscriber_in_exactly_one_stage(duck, lifecycle: LifecycleConfig, data: pa.Table) -> None:
    t = duck.from_arrow(data, "feats")
    out = duck.to_arrow(lifecycle_stages(t, lifecycle)).to_pylist()
    assert sorted(r["subscriber_id"] for r in out) == sorted(data["subscriber_id"].to_pylist())
    rule_stage = {r.id: r.stage for r in lifecycle.rules}
    for r in out:
        assert r["stage"] in STAGE_CODES
        assert rule_stage[r["stage_rule"]] == r["stage"]
        assert r["previous_stage"] is None


def test_rules_apply_in_order(duck, lifecycle: LifecycleConfig) -> None:
    rows = [
        # churned and new: exit comes first
        {"subscriber_id": "churned", "status": "churned", "tenure_months": 2},
        {"subscriber_id": "susp_arrears", "status": "suspended", "arrears_m0": 10.0, "tenure_months": 50},
        # a line switched off without arrears (a prepaid line whose top-ups stopped) is declining, not mature
        {"subscriber_id": "suspended", "status": "suspended", "arrears_m0": 0.0, "tenure_months": 50,
         "arpu_pct_change": 0.0},
        # a new customer who asked about porting out, or has a retention warning, is at risk, not acquired
        {"subscriber_id": "new_porting", "status": "active", "tenure_months": 3, "arpu_consecutive_declines": 0,
         "port_out_inquiries_3m": 1},
        {"subscriber_id": "new_warned", "status": "active", "tenure_months": 2, "retention_warnings": 1},
        {"subscriber_id": "new", "status": "active", "tenure_months": 3, "arpu_consecutive_declines": 0},
        {"subscriber_id": "new_declining", "status": "active", "tenure_months": 3, "arpu_consecutive_declines": 3},
        {"subscriber_id": "warned", "status": "active", "tenure_months": 40, "retention_warnings": 1},
        {"subscriber_id": "growing", "status": "active", "tenure_months": 40, "arpu_pct_change": 0.5, "value_level": 2},
        {"subscriber_id": "stable", "status": "active", "tenure_months": 40, "arpu_pct_change": 0.0},
    ]
    schema = pa.schema([("subscriber_id", pa.string())] + [(k, t) for k, (t, _) in COLUMNS.items()])
    t = duck.from_arrow(pa.Table.from_pylist(rows, schema=schema), "feats")
    prev = duck.from_arrow(pa.table({"subscriber_id": ["stable"], "stage": ["B"]}), "prev")
    got = {r["subscriber_id"]: r for r in duck.to_arrow(lifecycle_stages(t, lifecycle, prev)).to_pylist()}
    assert {k: v["stage"] for k, v in got.items()} == {
        "churned": "E", "susp_arrears": "E", "suspended": "D", "new_porting": "D", "new_warned": "D", "new": "A",
        "new_declining": "D", "warned": "D", "growing": "B", "stable": "C",
    }
    assert got["warned"]["stage_rule"] == "retention_warning"
    assert got["suspended"]["stage_rule"] == "suspended"
    assert got["new_porting"]["stage_rule"] == got["new_warned"]["stage_rule"] == "new_at_risk"
    assert got["stable"]["previous_stage"] == "B" and got["new"]["previous_stage"] is None


def test_last_rule_must_catch_everyone() -> None:
    with pytest.raises(ValueError):
        LifecycleConfig.model_validate({"rules": [{"id": "a", "stage": "A", "when": {"column": "x", "op": "gt", "value": 1}}]})
