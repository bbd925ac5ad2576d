"""The planner uses a campaign's measured effect per segment instead of its configured expected effect."""

from __future__ import annotations

import dataclasses
from typing import Any

import ibis
import pyarrow as pa

from tenure.analytics.planning import ContactHistory
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.services.planning import plan_month

from .builders import campaign, profiles

MONTH = "2026-11"


def _expected_values(con: Any, data: pa.Table, camp: Any) -> dict[str, float]:
    history = ContactHistory(
        ibis.memtable(pa.table({"subscriber_id": pa.array([], pa.string()), "contact_date": pa.array([], pa.date32()),
                                "channel": pa.array([], pa.string()), "outcome": pa.array([], pa.string())})),
        ibis.memtable(pa.table({"subscriber_id": pa.array([], pa.string()), "channel": pa.array([], pa.string()),
                                "kind": pa.array([], pa.string())})))
    table = ibis.memtable(data)
    result = plan_month(table, [camp], ContactPolicy(), ChannelCapacity(), history, MONTH,
                        targets={camp.campaign_id: table.churn_probability >= 0}, con=con)
    return {r["subscriber_id"]: r["expected_value"] for r in result.decisions.to_pylist()
            if r["expected_value"] is not None}


def test_measured_effect_replaces_the_configured_one_for_its_segment_only() -> None:
    con = ibis.duckdb.connect(threads=1)
    try:
        data = profiles(300, seed=5)
        configured = campaign(expected_effect=0.2)
        measured = dataclasses.replace(configured, measured_effects=(("seg_a", 0.5),))
        before, after = _expected_values(con, data, configured), _expected_values(con, data, measured)
    finally:
        con.disconnect()
    cost = configured.offer_cost
    segment = dict(zip(data["subscriber_id"].to_pylist(), data["segment_id"].to_pylist(), strict=True))
    assert before.keys() == after.keys() and len(before) > 100
    for s, ev in before.items():
        if segment[s] == "seg_a":  # value at stake × 0.5 instead of × 0.2
            assert abs((after[s] + cost) - (ev + cost) * 2.5) < 0.05
        else:
            assert after[s] == ev
