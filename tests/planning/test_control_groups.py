"""Control assignment: deterministic, order-free, stratified; global control rotates by quarter."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenure.analytics.planning import DECISIONS, ContactHistory, PlanSettings
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.domain.control_groups import (
    assign_controls,
    control_quota,
    draw,
    in_global_control,
    quarter_of,
)
from tenure.services.planning import plan_month

from .builders import campaign, profiles

ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
members = st.lists(st.tuples(ids, st.sampled_from(["s1", "s2", "s3"])), min_size=1, max_size=200,
                   unique_by=lambda m: m[0])


@settings(max_examples=30, deadline=None)
@given(members=members, campaign_id=ids, share=st.sampled_from([0.05, 0.1, 0.2]), seed=st.integers(0, 10**6))
def test_control_assignment_is_stable_and_order_free(
    members: list[tuple[str, str]], campaign_id: str, share: float, seed: int
) -> None:
    first = assign_controls(members, campaign_id, share)
    shuffled = list(members)
    random.Random(seed).shuffle(shuffled)
    assert assign_controls(shuffled, campaign_id, share) == first
    assert assign_controls(members, campaign_id, share) == first
    # every stratum holds out exactly its quota
    sizes = Counter(s for _, s in members)
    held = Counter(s for sub, s in members if sub in first)
    for stratum, n in sizes.items():
        assert held[stratum] == control_quota(share, n)


@settings(max_examples=30, deadline=None)
@given(subscriber=ids, campaign_id=ids)
def test_draw_is_uniform_range_and_depends_on_campaign(subscriber: str, campaign_id: str) -> None:
    u = draw(subscriber, campaign_id)
    assert 0 <= u < 1
    assert draw(subscriber, campaign_id) == u


def test_draws_are_roughly_uniform() -> None:
    values = [draw(f"S{i}", "camp") for i in range(20_000)]
    below = sum(v < 0.1 for v in values) / len(values)
    assert 0.09 < below < 0.11


def test_global_control_rotates_each_quarter() -> None:
    subs = [f"S{i:05d}" for i in range(5000)]
    q4 = {s for s in subs if in_global_control(s, "2026-11", 0.05)}
    assert q4 == {s for s in subs if in_global_control(s, "2026-10", 0.05)}
    q1 = {s for s in subs if in_global_control(s, "2027-02", 0.05)}
    assert 200 <= len(q4) <= 300 and 200 <= len(q1) <= 300
    assert len(q4 & q1) < 50  # independent draws overlap by about share², not wholesale
    assert quarter_of("2027-02") == "2027Q1"
    assert not any(in_global_control(s, "2026-11", 0.0) for s in subs[:100])


_con = None


def _connection() -> Any:
    global _con
    if _con is None:
        _con = ibis.duckdb.connect(threads=1)
    return _con


# Each example runs the whole planner (about half a second), hence fewer examples.
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 40),
    lines=st.integers(1, 3),
    cap=st.integers(0, 3),
    seed=st.integers(0, 10**6),
    blocked=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(["*", "sms", "outbound_call"]),
                               st.sampled_from(["opt_out", "do_not_disturb"])), max_size=10),
)
def test_decisions_partition_the_considered_set(
    n: int, lines: int, cap: int, seed: int, blocked: list[tuple[int, str, str]]
) -> None:
    data = profiles(n, seed=seed, subscribers_per_customer=lines)
    subs = data["subscriber_id"].to_pylist()
    supp = pa.table({
        "subscriber_id": [subs[i % n] for i, _, _ in blocked],
        "channel": [c for _, c, _ in blocked],
        "kind": [k for _, _, k in blocked],
    }, schema=pa.schema([("subscriber_id", pa.string()), ("channel", pa.string()), ("kind", pa.string())]))
    contacts = pa.table({
        "subscriber_id": subs[: n // 2],
        "contact_date": [dt.date(2026, 10, 20)] * (n // 2),
        "channel": ["sms"] * (n // 2),
        "outcome": ["accepted"] * (n // 2),
    }, schema=pa.schema([("subscriber_id", pa.string()), ("contact_date", pa.date32()),
                         ("channel", pa.string()), ("outcome", pa.string())]))
    a = campaign(priority=3, channels=("outbound_call", "sms"))
    b = campaign(priority=3, channels=("sms",), budget=60.0)
    t = ibis.memtable(data)
    res = plan_month(
        t, [a, b], ContactPolicy(max_contacts=cap), ChannelCapacity(daily={"outbound_call": 0}, weekly={"sms": 7}),
        ContactHistory(ibis.memtable(contacts), ibis.memtable(supp)), "2026-11", PlanSettings(global_control_share=0.1),
        targets={a.campaign_id: t.churn_probability > 0.2, b.campaign_id: t.warning_count > 0},
        con=_connection(),
    )
    decided = res.decisions.to_pylist()
    assert sorted(r["subscriber_id"] for r in decided) == sorted(subs)
    assert all(r["decision"] in DECISIONS for r in decided)
    assert sum(res.totals["decisions"].values()) == n
    acted = Counter(r["customer_id"] for r in decided if r["decision"] in ("selected", "control", "over_capacity"))
    assert all(v == 1 for v in acted.values())
    assert all(r["channel"] != "outbound_call" for r in decided)  # no seats at all
    assert sum(r["decision"] == "selected" and r["campaign_id"] == b.campaign_id for r in decided) * 20 <= 60
    for r in decided:
        assert (r["campaign_id"] is None) == (r["decision"] == "not_eligible")
        assert (r["channel"] is not None) == (r["decision"] == "selected")
