"""Small builders of planning inputs: profiles, contacts, suppressions, campaigns."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
import pyarrow as pa

from tenure.domain.campaigns import Campaign, ContactRules, Status
from tenure.domain.model import CHANNELS

_ids = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_ids):07d}"


def profiles(n: int, seed: int = 7, subscribers_per_customer: int = 1, **overrides: Any) -> pa.Table:
    """``n`` subscriber profiles with unique ids and random but plausible values."""
    rng = np.random.default_rng(seed)
    base = unique("S")
    subs = [f"{base}-{i:06d}" for i in range(n)]
    custs = [f"C{base}-{i // subscribers_per_customer:06d}" for i in range(n)]
    cols: dict[str, Any] = {
        "subscriber_id": subs,
        "customer_id": custs,
        "region": rng.choice(["guangzhou", "shenzhen", "fuzhou"], n).tolist(),
        "segment_id": rng.choice(["seg_a", "seg_b", "seg_c"], n).tolist(),
        "is_core": rng.random(n) < 0.5,
        "current_value": np.round(rng.uniform(20, 300, n), 2),
        "churn_probability": np.round(rng.uniform(0, 0.6, n), 4),
        "risk_decile": pa.nulls(n, pa.int64()),
        "warning_count": rng.integers(0, 4, n),
        "complaints": rng.integers(0, 3, n),
        "contract_months_left": rng.integers(0, 24, n),
    }
    for ch in CHANNELS:
        cols[f"pref_{ch}"] = rng.integers(0, 10, n)
    cols.update(overrides)
    return pa.table(cols)


def campaign(**kw: Any) -> Campaign:
    defaults: dict[str, Any] = {
        "campaign_id": unique("camp"),
        "name": "test campaign",
        "strategy": "bill_credit_promotion",
        "offer": "bill_credit_20",
        "target_filter": "arpu >= 30",
        "channels": ("outbound_call", "sms"),
        "start_date": dt.date(2026, 11, 1),
        "end_date": dt.date(2026, 11, 30),
        "priority": 5,
        "control_share": 0.1,
        "expected_effect": 0.2,
        "contact_rules": ContactRules(),
        "status": Status.APPROVED,
    }
    defaults.update(kw)
    return Campaign(**defaults)
