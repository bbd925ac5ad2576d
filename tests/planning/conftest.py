"""Fixtures for the planning tests: a DuckDB connection and a three-campaign scenario."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest

from tenure.analytics.planning import ContactHistory, PlanSettings
from tenure.domain.campaigns import Campaign
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.services.planning import PlanResult, plan_month

from .builders import campaign, profiles

MONTH = "2026-11"


@pytest.fixture(scope="module")
def con() -> Iterator[Any]:
    c = ibis.duckdb.connect(threads=1)
    yield c
    c.disconnect()


@dataclass
class Scenario:
    profiles: pa.Table
    contacts: pa.Table
    suppressions: pa.Table
    campaigns: list[Campaign]
    policy: ContactPolicy
    capacity: ChannelCapacity
    settings: PlanSettings
    result: PlanResult

    def run(self, con: Any, profiles: pa.Table | None = None, month: str = MONTH) -> PlanResult:
        return run_plan(con, profiles if profiles is not None else self.profiles, self, month)


def targets_for(table: Any, campaigns: list[Campaign]) -> dict[str, Any]:
    """Three overlapping targets: high risk, contract ending, complained."""
    high_risk, renewal, complaint = campaigns
    return {
        high_risk.campaign_id: table.churn_probability >= 0.3,
        renewal.campaign_id: table.contract_months_left < 8,
        complaint.campaign_id: table.complaints > 0,
    }


def run_plan(con: Any, data: pa.Table, sc: Any, month: str = MONTH) -> PlanResult:
    table = ibis.memtable(data)
    history = ContactHistory(ibis.memtable(sc.contacts), ibis.memtable(sc.suppressions))
    return plan_month(
        table, sc.campaigns, sc.policy, sc.capacity, history, month, sc.settings,
        targets=targets_for(table, sc.campaigns), con=con,
    )


def build_scenario(con: Any, n: int = 3000) -> Scenario:
    rng = np.random.default_rng(11)
    risk = np.round(rng.uniform(0, 0.6, n), 4)
    decile = np.minimum((risk / 0.06).astype(int) + 1, 10)
    data = profiles(n, seed=11, subscribers_per_customer=2, churn_probability=risk, risk_decile=decile)
    subs = data["subscriber_id"].to_pylist()
    k = n // 5
    picked = rng.choice(n, k, replace=False)
    days = rng.integers(0, 60, k)
    contacts = pa.table({
        "subscriber_id": [subs[i] for i in picked],
        "contact_date": [dt.date(2026, 9, 1) + dt.timedelta(int(d)) for d in days],
        "channel": rng.choice(["sms", "outbound_call"], k).tolist(),
        "outcome": rng.choice(["accepted", "refused", "no_answer", "accepted"], k).tolist(),
    })
    m = n // 10
    picked = rng.choice(n, m, replace=False)
    suppressions = pa.table({
        "subscriber_id": [subs[i] for i in picked],
        "channel": rng.choice(["*", "sms", "outbound_call", "account_manager"], m).tolist(),
        "kind": rng.choice(["opt_out", "do_not_disturb"], m).tolist(),
    })
    campaigns = [
        campaign(priority=10, channels=("outbound_call", "sms"), expected_effect=0.25),
        campaign(priority=5, strategy="handset_promotion", offer="handset_renewal",
                 channels=("account_manager", "outbound_call"), expected_effect=0.3,
                 start_date=dt.date(2026, 11, 9), end_date=dt.date(2026, 12, 31)),
        campaign(priority=5, strategy="complaint_care", offer="complaint_callback",
                 channels=("outbound_call", "sms", "hotline"), budget=1500.0, expected_effect=0.15),
    ]
    sc = Scenario(
        profiles=data, contacts=contacts, suppressions=suppressions, campaigns=campaigns,
        policy=ContactPolicy(max_contacts=1, window_days=30, cooldown_days=45),
        capacity=ChannelCapacity(daily={"outbound_call": 12, "sms": 40}, weekly={"account_manager": 35}),
        settings=PlanSettings(global_control_share=0.03),
        result=None,  # type: ignore[arg-type]
    )
    sc.result = sc.run(con)
    return sc


@pytest.fixture(scope="module")
def scenario(con: Any) -> Scenario:
    return build_scenario(con)
