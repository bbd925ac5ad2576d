"""Configured definitions: core customers, segments and tags, grades, channel scores."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tenure.analytics.channels import channel_scores
from tenure.analytics.core import core_customers
from tenure.analytics.credit import credit_rating
from tenure.analytics.grades import subscriber_grades
from tenure.analytics.segments import segment_membership
from tenure.config import Settings
from tenure.domain.errors import ConfigurationError
from tenure.domain.model import CHANNELS
from tenure.engines.compute import connect
from tenure.services.monthly_cycle import load_cycle_config, merge_config


@pytest.fixture(scope="module")
def duck(tmp_path_factory: pytest.TempPathFactory):
    eng = connect(Settings(home=tmp_path_factory.mktemp("def"), environment="test"), "duckdb")
    yield eng
    eng.close()


def _core_table(duck):
    rows = [
        {"subscriber_id": "vip", "vip_card": "gold", "is_key_person": False, "group_class": None, "is_premium": False, "arpu_avg3": 10.0},
        {"subscriber_id": "kp", "vip_card": "none", "is_key_person": True, "group_class": "C", "is_premium": True, "arpu_avg3": 10.0},
        {"subscriber_id": "groupb", "vip_card": "none", "is_key_person": False, "group_class": "B", "is_premium": False, "arpu_avg3": 10.0},
        {"subscriber_id": "premium", "vip_card": "none", "is_key_person": False, "group_class": "D", "is_premium": True, "arpu_avg3": 10.0},
        {"subscriber_id": "spender", "vip_card": "none", "is_key_person": False, "group_class": None, "is_premium": False, "arpu_avg3": 95.0},
        {"subscriber_id": "mid", "vip_card": "none", "is_key_person": False, "group_class": None, "is_premium": False, "arpu_avg3": 60.0},
        {"subscriber_id": "nulls", "vip_card": None, "is_key_person": None, "group_class": None, "is_premium": None, "arpu_avg3": None},
    ]
    return duck.from_arrow(pa.Table.from_pylist(rows), "core_in")


def test_fujian_core_definition(duck, tmp_path: Path) -> None:
    config = load_cycle_config(tmp_path)
    out = {r["subscriber_id"]: r for r in duck.to_arrow(core_customers(_core_table(duck), config.core)).to_pylist()}
    assert {k: v["core_reason"] for k, v in out.items()} == {
        "vip": "vip_card", "kp": "key_person", "groupb": "group_ab", "premium": "premium_brand",
        "spender": "high_spend", "mid": None, "nulls": None,
    }
    assert [k for k, v in out.items() if v["is_core"]] == ["vip", "kp", "groupb", "premium", "spender"]


def test_user_override_changes_the_threshold(duck, tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "core_customers.yaml").write_text(
        "criteria:\n  - id: high_spend\n    when: {column: arpu_avg3, op: ge, value: 50}\n", encoding="utf-8"
    )
    config = load_cycle_config(tmp_path)
    assert [c.id for c in config.core.criteria][-1] == "high_spend"  # merged by id, not appended
    out = {r["subscriber_id"]: r for r in duck.to_arrow(core_customers(_core_table(duck), config.core)).to_pylist()}
    assert out["mid"]["core_reason"] == "high_spend"


def test_bad_override_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "lifecycle.yaml").write_text(
        "rules:\n  - id: mature\n    stage: Z\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError):
        load_cycle_config(tmp_path)


def test_merge_config() -> None:
    base = {"a": 1, "items": [{"id": "x", "v": 1}, {"id": "y", "v": 2}], "plain": [1, 2]}
    over = {"items": [{"id": "y", "v": 5}, {"id": "z", "v": 6}], "plain": [3]}
    assert merge_config(base, over) == {
        "a": 1, "items": [{"id": "x", "v": 1}, {"id": "y", "v": 5}, {"id": "z", "v": 6}], "plain": [3],
    }


def test_segment_grid(tmp_path: Path) -> None:
    segments = load_cycle_config(tmp_path).segments.segments()
    core = [s for s in segments if s.population != "general"]
    assert len(core) == 24 and len({s.id for s in segments}) == 25
    assert all(s.name_en and s.name_zh for s in segments)


def _seg_row(**kw):
    base = {"subscriber_id": "s", "is_core": True, "stage": "C", "is_key_person": False, "vip_card": "none",
            "port_out_inquiries_3m": 0, "cancellations_3m": 0, "other_op_cs_calls_rising": False,
            "other_op_ip_spend_m0": 0.0, "downgrades_6m": 0, "arpu_pct_change": 0.0, "data_mb_avg3": 0.0,
            "offnet_share": 0.1, "roaming_mou_avg3": 0.0, "is_bundle": False, "contract_months_left": None,
            "arrears_m0": 0.0, "complaints_3m": 0, "recharge_irregular": False, "other_op_ip_spend_avg3": 0.0}
    return base | kw


def test_segments_and_tags(duck, tmp_path: Path) -> None:
    config = load_cycle_config(tmp_path).segments
    rows = [
        _seg_row(subscriber_id="kp_churn", is_key_person=True, vip_card="gold", stage="D", port_out_inquiries_3m=1),
        _seg_row(subscriber_id="vip_down", vip_card="gold", stage="C", downgrades_6m=1),
        _seg_row(subscriber_id="core_pref", stage="C"),
        _seg_row(subscriber_id="core_exit", stage="E", port_out_inquiries_3m=1),
        _seg_row(subscriber_id="core_new", stage="A"),
        _seg_row(subscriber_id="not_core", is_core=False, stage="D"),
        _seg_row(subscriber_id="tagged", is_core=False, data_mb_avg3=20000.0, offnet_share=0.7, is_bundle=True,
                 contract_months_left=2, arrears_m0=5.0, complaints_3m=1),
    ]
    t = duck.from_arrow(pa.Table.from_pylist(rows), "seg_in")
    got = {r["subscriber_id"]: r for r in duck.to_arrow(segment_membership(t, config)).to_pylist()}
    assert {k: v["segment_id"] for k, v in got.items()} == {
        "kp_churn": "key_person.declining.churn_signs", "vip_down": "vip.mature.downgrade_signs",
        "core_pref": "core.mature.preference", "core_exit": "core.exiting", "core_new": "core.growing",
        "not_core": "general", "tagged": "general",
    }
    valid = {s.id for s in config.segments()}
    assert all(v["segment_id"] in valid for v in got.values())
    assert got["tagged"]["tags"] == "data_heavy,offnet_heavy,bundle_holder,contract_ending,arrears,complainer"
    assert got["core_pref"]["tags"] == ""


def test_grades_and_credit(duck, tmp_path: Path) -> None:
    g = load_cycle_config(tmp_path).grades
    rows = [{"subscriber_id": str(v), "current_value": float(v), "arrears_months_6m": a, "arrears_m0": am,
             "tenure_months": tm, "months_of_history": h} for v, a, am, tm, h in
            [(0, 0, 0.0, 30, 6), (700, 0, 0.0, 5, 5), (1500, 1, 0.0, 30, 6), (3000, 2, 10.0, 30, 6),
             (9000, 5, 10.0, 30, 6), (10, 0, 0.0, 30, 4), (20, 0, 0.0, 30, 2)]]
    t = duck.from_arrow(pa.Table.from_pylist(rows), "g_in")
    t = subscriber_grades(t, g)
    got = duck.to_arrow(t.mutate(credit_rating=credit_rating(t, g))).to_pylist()
    assert [(r["card_grade"], r["value_level"], r["credit_rating"]) for r in got] == [
        ("none", 1, "AAA"), ("none", 2, "AA"), ("silver", 3, "A"), ("gold", 4, "B"), ("diamond", 5, "C"),
        # a long-standing subscriber with a clean record seen over four months, then over two
        ("none", 1, "AA"), ("none", 1, "A"),
    ]


def test_channel_scores_are_ninths_of_the_users(duck) -> None:
    n = 50
    rows = []
    for i in range(n):
        shares = {f"inbound_share_{ch}": None for ch in CHANNELS}
        if i % 5:  # every fifth subscriber never contacted inbound
            shares["inbound_share_hotline"] = i / n
            shares["inbound_share_store"] = 1 - i / n
        rows.append({"subscriber_id": f"S{i:03d}"} | shares)
    schema = pa.schema([("subscriber_id", pa.string())] + [(f"inbound_share_{ch}", pa.float64()) for ch in CHANNELS])
    t = duck.from_arrow(pa.Table.from_pylist(rows, schema=schema), "ch_in")
    got = duck.to_arrow(channel_scores(t)).to_pylist()
    for r in got:
        for ch in CHANNELS:
            assert 0 <= r[f"pref_{ch}"] <= 9
        used = r["inbound_share_hotline"] is not None
        assert (r["pref_hotline"] > 0) == used
    hot = {r["subscriber_id"]: r["pref_hotline"] for r in got}
    assert hot["S049"] == 9 and hot["S001"] == 1 and hot["S000"] == 0
    assert all(r["pref_website"] == 0 for r in got)
    # 40 users: the k-th smallest share is in ninth ceil(9k/40).
    users = sorted((s for s in hot if hot[s]), key=lambda s: int(s[1:]))
    assert [hot[s] for s in users] == [-(-9 * k // 40) for k in range(1, 41)]


def test_channel_scores_give_9_to_the_users_tied_at_the_top(duck) -> None:
    # Ten users of the store: six use nothing else (share 1), four share it with another channel.
    shares = [1.0] * 6 + [0.2, 0.4, 0.5, 0.8]
    rows = [{"subscriber_id": f"S{i:02d}"} | {f"inbound_share_{ch}": None for ch in CHANNELS}
            | {"inbound_share_store": v} for i, v in enumerate(shares)]
    schema = pa.schema([("subscriber_id", pa.string())] + [(f"inbound_share_{ch}", pa.float64()) for ch in CHANNELS])
    got = duck.to_arrow(channel_scores(duck.from_arrow(pa.Table.from_pylist(rows, schema=schema), "ch_tie")))
    store = {r["subscriber_id"]: r["pref_store"] for r in got.to_pylist()}
    assert [store[f"S{i:02d}"] for i in range(10)] == [9] * 6 + [1, 2, 3, 4]


def _scores_by_window(t):
    """The definition of the channel scores as window functions over every row (the reference)."""
    import ibis

    scores = {}
    for ch in CHANNELS:
        share = t[f"inbound_share_{ch}"]
        used = share.fill_null(0) > 0
        cume = ibis.cume_dist().over(ibis.window(group_by=used, order_by=share.fill_null(0)))
        score = (cume * 9 - 1e-9).ceil().cast("int64")  # the ninth of the channel's users, ties at or below
        scores[f"pref_{ch}"] = ibis.ifelse(used, score, ibis.literal(0, "int64"))
    return t.mutate(**scores)


share_value = st.one_of(st.none(), st.just(0.0), st.sampled_from([0.1, 0.25, 0.5, 1.0]),
                        st.floats(0.0, 1.0, allow_nan=False))


@hsettings(max_examples=30, deadline=None)
@given(rows=st.lists(st.lists(share_value, min_size=len(CHANNELS), max_size=len(CHANNELS)), max_size=40))
def test_channel_scores_equal_their_window_definition(duck, rows: list[list[float | None]]) -> None:
    data = pa.table({"subscriber_id": pa.array([f"S{i:03d}" for i in range(len(rows))], pa.string()),
                     **{f"inbound_share_{ch}": pa.array([r[j] for r in rows], pa.float64())
                        for j, ch in enumerate(CHANNELS)}})
    t = duck.from_arrow(data, "ch_rand")
    got = {r["subscriber_id"]: r for r in duck.to_arrow(channel_scores(t)).to_pylist()}
    want = {r["subscriber_id"]: r for r in duck.to_arrow(_scores_by_window(t)).to_pylist()}
    assert got == want


def test_potential_value_sums_the_twelve_projected_months(duck, tmp_path: Path) -> None:
    from tenure.analytics.value import subscriber_value

    def expected(level: float, slope: float) -> float:
        return round(sum(max(0.0, level + slope * i) for i in range(1, 13)), 2)

    # A falling line that reaches 0 in month 5, a rising one, a flat one, one falling from the start,
    # and a subscriber who left in the month.
    rows = [("falling", 30.0, -6.0, False), ("rising", 20.0, 2.5, False), ("flat", 50.0, 0.0, False),
            ("gone_below", -3.0, -1.0, False), ("left", 80.0, 1.0, True)]
    t = duck.from_arrow(pa.table({
        "subscriber_id": [r[0] for r in rows], "arpu_avg3": [r[1] for r in rows],
        "arpu_trend3": [r[2] for r in rows], "churned_in_month": [r[3] for r in rows],
        "months_of_history": [6] * len(rows), "revenue_6m": [100.0] * len(rows),
    }), "value_in")
    got = {r["subscriber_id"]: r["potential_value"]
           for r in duck.to_arrow(subscriber_value(t, load_cycle_config(tmp_path).grades)).to_pylist()}
    assert got == {"falling": 60.0, "rising": expected(20.0, 2.5), "flat": 600.0,
                   "gone_below": 0.0, "left": 0.0}
    # The straight-line shortcut 12 * level + 78 * slope gave the falling line 0 (360 - 468 < 0).


def test_a_leaver_is_valued_on_the_months_before_the_churn(duck, tmp_path: Path) -> None:
    """The churn month's bill is partial: the value lost is the year at the rate of the months before it."""
    from tenure.analytics.value import subscriber_value

    # id, left in the month, months of history, revenue of those months, revenue of the month itself
    rows = [("stays", False, 6, 600.0, 100.0), ("left", True, 6, 530.0, 30.0), ("left_first_month", True, 1, 30.0, 30.0),
            ("left_unbilled", True, 5, 500.0, None), ("stays_short", False, 2, 150.0, 50.0)]
    t = duck.from_arrow(pa.table({
        "subscriber_id": [r[0] for r in rows], "churned_in_month": [r[1] for r in rows],
        "months_of_history": [r[2] for r in rows], "revenue_6m": [r[3] for r in rows],
        "arpu_m0": pa.array([r[4] for r in rows], pa.float64()),
        "arpu_avg3": [0.0] * len(rows), "arpu_trend3": [0.0] * len(rows),
    }), "leaver_value_in")
    got = {r["subscriber_id"]: r["current_value"]
           for r in duck.to_arrow(subscriber_value(t, load_cycle_config(tmp_path).grades)).to_pylist()}
    assert got == {"stays": 1200.0, "left": 1200.0, "left_first_month": 360.0, "left_unbilled": 1200.0,
                   "stays_short": 900.0}


def test_a_criterion_reading_a_column_the_features_lack_is_refused(duck, tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "core_customers.yaml").write_text(
        "criteria:\n  - id: valuable\n    name_en: Valuable\n    name_zh: 高价值\n"
        "    when: {column: current_value, op: ge, value: 1000}\n", encoding="utf-8")
    config = load_cycle_config(tmp_path)
    with pytest.raises(ConfigurationError, match="criterion 'valuable' reads 'current_value'.*not a column of the features"):
        core_customers(_core_table(duck), config.core)


def test_card_review_expression_agrees_with_the_rule_for_every_pair_of_cards(duck) -> None:
    from tenure.analytics.grades import card_review as card_review_expr
    from tenure.domain.grades import CARD_GRADES, card_review

    cards = [*CARD_GRADES, None, "platinum"]
    pairs = [(a, b) for a in cards for b in cards]
    t = duck.from_arrow(pa.table({"held": [a for a, _ in pairs], "earned": [b for _, b in pairs]},
                                 schema=pa.schema([("held", pa.string()), ("earned", pa.string())])), "cards")
    got = duck.to_arrow(t.select(r=card_review_expr(t.held, t.earned))).column("r").to_pylist()
    assert got == [card_review(a, b) for a, b in pairs]
