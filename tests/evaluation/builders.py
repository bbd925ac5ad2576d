"""Small warehouses with a known campaign effect, written through ``Warehouse.write_month``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from tenure.engines.warehouse import Warehouse

MONTH = "2026-01"
CAMPAIGN = "keep-high-risk"


def _write(wh: Warehouse, month: str, area: str, **tables: pa.Table) -> None:
    with wh.write_month(month, area) as out:
        for name, data in tables.items():
            out.write(name, data)


def campaign_warehouse(root: Path, n_treated: int = 1000, n_control: int = 1000, treated_churn: int = 50,
                       control_churn: int = 100, arpu_lift: float = 2.0, months_after: int = 2,
                       seed: int = 3) -> Warehouse:
    """Treated churn ``treated_churn`` of ``n_treated`` by M+1, control ``control_churn`` of ``n_control``.

    Survivors' revenue moves by ``arpu_lift`` (treated) or 0 (control) plus noise;
    churned subscribers leave the later snapshots' usage. A third group (another
    campaign, not eligible) must be ignored by the evaluation.
    """
    rng = np.random.default_rng(seed)
    wh = Warehouse(root)
    treated = [f"T{i:05d}" for i in range(n_treated)]
    control = [f"C{i:05d}" for i in range(n_control)]
    other = [f"O{i:05d}" for i in range(200)]
    subs = treated + control + other
    n = len(subs)
    decision = ["selected"] * n_treated + ["control"] * n_control + ["selected"] * 100 + ["not_eligible"] * 100
    campaign = [CAMPAIGN] * (n_treated + n_control) + ["other-campaign"] * 100 + [None] * 100
    _write(wh, MONTH, "output",
           decisions=pa.table({"subscriber_id": subs, "customer_id": subs, "campaign_id": campaign,
                               "channel": ["sms"] * n, "decision": decision}),
           profiles=pa.table({"subscriber_id": subs, "value_level": np.full(n, 3, dtype="int64"),
                              "card_grade": ["gold"] * n, "is_core": [True] * n}))
    r0 = rng.gamma(4.0, 15.0, n)
    m0 = rng.gamma(3.0, 100.0, n)
    _write(wh, MONTH, "input",
           subscribers=pa.table({"subscriber_id": subs, "customer_id": subs, "status": ["active"] * n}),
           monthly_usage=pa.table({"month": [MONTH] * n, "subscriber_id": subs, "revenue": r0, "mou": m0,
                                   "bundle_broadband": [False] * n, "bundle_tv": [False] * n}))
    churned = set(treated[:treated_churn]) | set(control[:control_churn])
    lift = {s: arpu_lift for s in treated}
    for h in range(1, months_after + 1):
        month = f"2026-{1 + h:02d}"
        alive = [i for i, s in enumerate(subs) if s not in churned]
        rev = [float(r0[i] + lift.get(subs[i], 0.0) + rng.normal(0, 5)) for i in alive]
        _write(wh, month, "input",
               subscribers=pa.table({"subscriber_id": subs, "customer_id": subs,
                                     "status": ["churned" if s in churned else "active" for s in subs]}),
               monthly_usage=pa.table({"month": [month] * len(alive), "subscriber_id": [subs[i] for i in alive],
                                       "revenue": [max(r, 0.0) for r in rev],
                                       "mou": [float(m0[i]) for i in alive],
                                       "bundle_broadband": [False] * len(alive), "bundle_tv": [False] * len(alive)}))
    # Profiles of M+1 only: 30 surviving control subscribers fall a value level, no treated one does.
    fell = set(control[control_churn:control_churn + 30])
    alive = [s for s in subs if s not in churned]
    _write(wh, "2026-02", "output", profiles=pa.table({
        "subscriber_id": alive, "value_level": [2 if s in fell else 3 for s in alive],
        "card_grade": ["gold"] * len(alive), "is_core": [True] * len(alive)}))
    return wh


def snapshot_warehouse(root: Path) -> Warehouse:
    """Four core customers (gold, gold, silver, diamond) and one non-core, followed two months."""
    wh = Warehouse(root)
    subs = ["A", "B", "C", "D", "E"]
    _write(wh, MONTH, "output", profiles=pa.table({
        "subscriber_id": subs, "card_grade": ["gold", "gold", "silver", "diamond", "none"],
        "value_level": [3, 3, 2, 4, 1], "is_core": [True, True, True, True, False]}))
    _write(wh, MONTH, "input",
           subscribers=pa.table({"subscriber_id": subs, "status": ["active"] * 5}),
           monthly_usage=pa.table({"month": [MONTH] * 5, "subscriber_id": subs, "revenue": [1.0] * 5,
                                   "mou": [1.0] * 5, "bundle_broadband": [True, False, False, False, False],
                                   "bundle_tv": [False, True, False, False, None]}))
    # M+1: B churned, A fell gold -> silver, C rose silver -> gold, D stays diamond.
    _write(wh, "2026-02", "output", profiles=pa.table({
        "subscriber_id": ["A", "C", "D", "E"], "card_grade": ["silver", "gold", "diamond", "none"],
        "value_level": [2, 3, 4, 1], "is_core": [True, True, True, False]}))
    _write(wh, "2026-02", "input",
           subscribers=pa.table({"subscriber_id": subs, "status": ["active", "churned", "active", "suspended",
                                                                   "active"]}),
           monthly_usage=pa.table({"month": ["2026-02"] * 4, "subscriber_id": ["A", "C", "D", "E"],
                                   "revenue": [1.0] * 4, "mou": [1.0] * 4,
                                   "bundle_broadband": [True, True, False, False],
                                   "bundle_tv": [False, False, False, True]}))
    # M+2: subscribers only (no run yet): D has left the snapshot altogether.
    _write(wh, "2026-03", "input",
           subscribers=pa.table({"subscriber_id": ["A", "B", "C", "E"],
                                 "status": ["active", "churned", "active", "active"]}))
    return wh
