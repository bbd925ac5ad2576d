"""A small planned month with two segments, two channels and three executors, counts chosen by hand.

Plan of 2026-01, campaign ``keep-b`` (strategy ``tenure_reward``, unit cost 10 yuan), followed in 2026-02:

=========  ===========================  ==========================
segment    treated (selected + waiting)  control
=========  ===========================  ==========================
A (easy)   100, churned TA000-TA004 (5)  100, churned CA000-CA009 (10)
B (hard)   100, churned TB000-TB029 (30) 100, churned CB000-CB059 (60)
=========  ===========================  ==========================

TA090-TA099 wait for capacity (``over_capacity``, no channel). Of the others, even numbers go to
``outbound_call`` and odd numbers to ``sms``. Outbound orders of segment A belong to executor
``mgr_easy`` (45 orders, all reached, 30 accepted), those of segment B to ``mgr_hard`` (50 orders,
40 reached, 21 accepted: 20 at once, one on a second attempt); the sms orders TB001, TB003, TB005 belong to ``mgr_tiny`` (none reached).

A raw comparison with the whole control (kept 130 of 200 = 0.65) flatters ``mgr_easy`` (42/45) and
hardly credits ``mgr_hard`` (35/50); standardised to their own segment, ``mgr_easy`` is 42/45 against
0.90 and ``mgr_hard`` 35/50 against 0.40.

Downgrades in 2026-02: TA050-TA054 (5 of 95 treated A survivors), CA050-CA059 (10 of 90 control A).
Satisfaction in 2026-02: TA050 8, TA051 6; CA050 5, CA051 7, CA052 6; TA000 (churned) 1 is ignored.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from tenure.engines.warehouse import Warehouse

MONTH = "2026-01"
LATER = "2026-02"
CAMPAIGN = "keep-b"
STRATEGY = "tenure_reward"
EXECUTORS = ("mgr_easy", "mgr_hard", "mgr_tiny")

CAMPAIGN_YAML = f"""
campaign_id: {CAMPAIGN}
name: Keep segment B
strategy: {STRATEGY}
offer: tenure_gift
target_filter: value_level >= 0
channels: [outbound_call, sms]
start_date: '2026-01-01'
end_date: '2026-12-31'
unit_cost: 10
control_share: 0.5
expected_effect: 0.1
"""


def ids(prefix: str) -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(100)]


TA, TB, CA, CB = ids("TA"), ids("TB"), ids("CA"), ids("CB")
CHURNED = set(TA[:5]) | set(TB[:30]) | set(CA[:10]) | set(CB[:60])
WAITING = set(TA[90:])


def channel_of(s: str) -> str | None:
    if s in WAITING or s.startswith("C"):
        return None
    return "outbound_call" if int(s[2:]) % 2 == 0 else "sms"


def _write(wh: Warehouse, month: str, area: str, **tables: pa.Table) -> None:
    with wh.write_month(month, area) as out:
        for name, data in tables.items():
            out.write(name, data)


def breakdown_warehouse(root: Path) -> Warehouse:
    wh = Warehouse(root)
    subs = TA + TB + CA + CB
    n = len(subs)
    decision = ["control" if s.startswith("C") else "over_capacity" if s in WAITING else "selected" for s in subs]
    _write(wh, MONTH, "output",
           decisions=pa.table({"subscriber_id": subs, "customer_id": subs, "campaign_id": [CAMPAIGN] * n,
                               "channel": [channel_of(s) for s in subs], "decision": decision}),
           profiles=pa.table({"subscriber_id": subs, "segment_id": [s[1] for s in subs],
                              "value_level": [3] * n, "card_grade": ["gold"] * n, "is_core": [True] * n}))
    _write(wh, MONTH, "input",
           subscribers=pa.table({"subscriber_id": subs, "customer_id": subs, "status": ["active"] * n,
                                 "msisdn": [f"1380000{i:04d}" for i in range(n)]}),
           monthly_usage=pa.table({"month": [MONTH] * n, "subscriber_id": subs, "revenue": [50.0] * n,
                                   "mou": [100.0] * n, "bundle_broadband": [False] * n, "bundle_tv": [False] * n}))
    alive = [s for s in subs if s not in CHURNED]
    fell = set(TA[50:55]) | set(CA[50:60])
    surveys = [("TA050", 8), ("TA051", 6), ("CA050", 5), ("CA051", 7), ("CA052", 6), ("TA000", 1)]
    _write(wh, LATER, "input",
           subscribers=pa.table({"subscriber_id": subs, "customer_id": subs,
                                 "status": ["churned" if s in CHURNED else "active" for s in subs],
                                 "msisdn": [f"1380000{i:04d}" for i in range(n)]}),
           monthly_usage=pa.table({"month": [LATER] * len(alive), "subscriber_id": alive,
                                   "revenue": [50.0] * len(alive), "mou": [100.0] * len(alive),
                                   "bundle_broadband": [False] * len(alive), "bundle_tv": [False] * len(alive)}),
           satisfaction_surveys=pa.table({
               "survey_id": [f"S{i}" for i in range(len(surveys))], "subscriber_id": [s for s, _ in surveys],
               "surveyed_on": [dt.date(2026, 2, 10)] * len(surveys), "score": [v for _, v in surveys],
               "topic": ["overall"] * len(surveys)}))
    # Profiles of 2026-02 carry what the planner reads, so the month can be previewed and planned.
    _write(wh, LATER, "output", profiles=pa.table({
        "subscriber_id": alive, "customer_id": alive, "region": ["fuzhou"] * len(alive),
        "current_value": [100.0] * len(alive), "churn_probability": [0.3] * len(alive),
        "warning_count": [0] * len(alive), "pref_hotline": [5] * len(alive), "pref_sms": [5] * len(alive),
        "segment_id": [s[1] for s in alive],
        "value_level": [2 if s in fell else 3 for s in alive],
        "card_grade": ["gold"] * len(alive), "is_core": [True] * len(alive)}))
    return wh


def store_plan(services: object, password: str = "correct-horse-battery") -> dict[str, int]:
    """The campaign, three executors, the month's work orders and their outcomes; returns executor ids."""
    from tenure.engines.store.campaign_models import WorkOrderOutcome

    svc = services  # a tenure.bootstrap.Services
    from tenure.services.campaigns import CampaignService

    svc.users.add(None, "planner", "retention_manager", password=password, locale="en")  # type: ignore[attr-defined]
    CampaignService(svc.uow).import_yaml("planner", CAMPAIGN_YAML)  # type: ignore[attr-defined]
    for name in EXECUTORS:
        svc.users.add(None, name, "account_manager", password=password, locale="en")  # type: ignore[attr-defined]
    with svc.uow() as uow:  # type: ignore[attr-defined]
        users = {u.name: u.id for u in uow.users.list() if u.name in EXECUTORS}
    selected = [s for s in TA + TB if s not in WAITING]

    def owner(s: str) -> int | None:
        if channel_of(s) == "outbound_call":
            return users["mgr_easy"] if s.startswith("TA") else users["mgr_hard"]
        return users["mgr_tiny"] if s in ("TB001", "TB003", "TB005") else None

    now = dt.datetime.now(dt.UTC)
    with svc.uow() as uow:  # type: ignore[attr-defined]
        uow.work_orders.insert_many([
            {"month": MONTH, "campaign_id": CAMPAIGN, "subscriber_id": s, "customer_id": s, "channel": channel_of(s),
             "segment_id": s[1], "assignee_id": owner(s), "due_date": dt.date(2026, 1, 20), "reason": "",
             "status": "open", "created_at": now} for s in selected])
        orders = {o.subscriber_id: o.id for o in uow.work_orders.of_month(MONTH)}
        easy = [s for s in selected if owner(s) == users["mgr_easy"]]
        hard = [s for s in selected if owner(s) == users["mgr_hard"]]
        answers: list[tuple[str, bool, str | None]] = []
        answers += [(s, True, "accepted" if i < 30 else "refused") for i, s in enumerate(easy)]
        answers += [(s, i < 40, ("accepted" if i < 20 else "thinking") if i < 40 else None) for i, s in enumerate(hard)]
        answers += [(s, False, None) for s in ("TB001", "TB003", "TB005")]
        for s, reached, response in answers:
            uow.session.add(WorkOrderOutcome(work_order_id=orders[s], attempt=1, reached=reached, response=response,
                                             contact_date=dt.date(2026, 1, 5), source="api", recorded_by="t",
                                             recorded_at=now))
        # A second, later attempt of the last reached hard order: its answer (accepted) counts.
        uow.session.add(WorkOrderOutcome(work_order_id=orders[hard[39]], attempt=2, reached=True, response="accepted",
                                         contact_date=dt.date(2026, 1, 9), source="api", recorded_by="t",
                                         recorded_at=now))
        uow.commit()
    return users
