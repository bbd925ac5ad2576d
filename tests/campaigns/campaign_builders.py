"""Small builders for the retention-work tests: users, campaign YAML, planned profiles (unique ids)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from tenure.domain.model import CHANNELS
from tenure.engines.store.models import User
from tenure.engines.store.unit_of_work import UnitOfWorkFactory

_ids = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}{next(_ids):05d}"


def add_user(store: UnitOfWorkFactory, role: str, customers: list[str] | None = None) -> str:
    name = unique(role[:6] + "_")
    with store() as uow:
        user = uow.users.add(User(name=name, display_name=name, role=role, locale="en", password_hash=None,
                                  active=True, failed_logins=0, created_at=dt.datetime.now(dt.UTC)))
        for c in customers or []:
            uow.assignments.add_customer(user.id, c, dt.datetime.now(dt.UTC))
        uow.commit()
    return name


def campaign_dict(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaign_id": unique("camp-"),
        "name": "Bill credit for risky customers",
        "strategy": "bill_credit_promotion",
        "offer": "bill_credit_20",
        "target_filter": "churn_probability >= 0.2",
        "channels": ["outbound_call", "sms"],
        "start_date": "2026-11-01",
        "end_date": "2026-11-30",
        "priority": 5,
        "control_share": 0.1,
    }
    data.update(kw)
    return data


def campaign_yaml(**kw: Any) -> str:
    return yaml.safe_dump(campaign_dict(**kw), allow_unicode=True, sort_keys=False)


def profiles(n: int, seed: int = 7, **overrides: Any) -> pa.Table:
    """``n`` subscriber profiles with the planner's columns and unique ids."""
    rng = np.random.default_rng(seed)
    base = unique("S")
    cols: dict[str, Any] = {
        "subscriber_id": [f"{base}-{i:05d}" for i in range(n)],
        "customer_id": [f"C{base}-{i:05d}" for i in range(n)],
        "msisdn": [f"139{i:08d}" for i in range(n)],
        "region": rng.choice(["guangzhou", "shenzhen"], n).tolist(),
        "segment_id": rng.choice(["seg_a", "seg_b"], n).tolist(),
        "is_core": rng.random(n) < 0.6,
        "current_value": np.round(rng.uniform(20, 300, n), 2),
        "churn_probability": np.round(rng.uniform(0, 0.6, n), 4),
        "risk_decile": pa.nulls(n, pa.int64()),
        "warning_count": rng.integers(0, 4, n),
    }
    for ch in CHANNELS:
        cols[f"pref_{ch}"] = rng.integers(0, 10, n)
    cols.update(overrides)
    return pa.table(cols)
