"""A small operator written straight into the warehouse: input snapshots and
``features``/``profiles`` outputs, so model tests need no monthly run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from tenure.domain.model import month_range
from tenure.engines.warehouse import Warehouse


@dataclass
class Operator:
    months: list[str]
    # month -> {subscriber_id: churn_type} of those leaving in that month
    churns: dict[str, dict[str, str]] = field(default_factory=dict)
    # month -> subscribers with no usage row (silent)
    silent: dict[str, set[str]] = field(default_factory=dict)


def build_operator(root: Path, n: int = 600, first: str = "2026-01", last: str = "2026-08", seed: int = 1) -> Operator:
    """Subscribers whose risk shows in ``complaints_3m`` and ``offnet_share_change``
    the month before they leave; some leave for non-payment, some go silent."""
    rng = np.random.default_rng(seed)
    months = month_range(first, last)
    wh = Warehouse(root)
    ids = np.array([f"S{i:05d}" for i in range(n)])
    gone: set[str] = set()
    op = Operator(months=months)
    # plan each subscriber's leaving month (or none) in advance
    leave_at = {}
    for sid in ids:
        if rng.random() < 0.35:
            leave_at[sid] = (int(rng.integers(1, len(months))), str(rng.choice(["voluntary", "port_out", "non_payment"], p=[.45, .45, .1])))
    level_of = {sid: int(v) for sid, v in zip(ids, rng.integers(2, 5, n), strict=True)}
    silent_from = {sid: int(rng.integers(1, len(months))) for sid in ids if sid not in leave_at and rng.random() < 0.05}
    for k, m in enumerate(months):
        leaving = {sid: t for sid, (at, t) in leave_at.items() if at == k}
        op.churns[m] = leaving
        op.silent[m] = {sid for sid, at in silent_from.items() if k >= at}
        alive = [s for s in ids if s not in gone]
        status = ["churned" if s in leaving else "active" for s in alive]
        subs = pd.DataFrame({"subscriber_id": alive, "status": status,
                             "churn_type": [leaving.get(s) for s in alive]})
        usage = pd.DataFrame({"subscriber_id": [s for s in alive if s not in leaving and s not in op.silent[m]]})
        # features: risk signs in the month before leaving (and a bit of noise)
        soon = {sid for sid, (at, _) in leave_at.items() if at in (k + 1, k + 2)}
        risky = np.array([s in soon for s in alive])
        feats = pd.DataFrame({
            "subscriber_id": alive,
            "status": status,
            "churn_type": [leaving.get(s) for s in alive],
            "region": rng.choice(["north", "south"], size=len(alive)),
            "complaints_3m": rng.poisson(0.3 + 2.0 * risky),
            "offnet_share_change": rng.normal(0.0, 0.05, len(alive)) + 0.15 * risky,
            "arpu_avg3": rng.gamma(4.0, 20.0, len(alive)),
            "contract_months_left": rng.integers(-3, 24, len(alive)),
            "month_index": k,  # equals the snapshot month: a point-in-time marker
        })
        level = np.array([level_of[s] for s in alive])
        profiles = pd.DataFrame({"subscriber_id": alive,
                                 "value_level": level - risky.astype(int) * rng.integers(0, 2, len(alive))})
        with wh.write_month(m, "input") as out:
            out.write("subscribers", pa.Table.from_pandas(subs, preserve_index=False))
            out.write("monthly_usage", pa.Table.from_pandas(usage, preserve_index=False))
        with wh.write_month(m, "output") as out:
            out.write("features", pa.Table.from_pandas(feats, preserve_index=False))
            out.write("profiles", pa.Table.from_pandas(profiles, preserve_index=False))
        gone |= set(leaving)
    return op
