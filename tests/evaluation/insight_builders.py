"""A seven-subscriber operator over three months whose insight figures are worked out by hand.

Months M1=2026-01, M2=2026-02, M3=2026-03. Customers K1-K3 in ``north``,
K4-K5 in ``south``; subscribers::

    S1 K1 north P1  contract to 2026-06-30          active
    S2 K1 north P2  (bundle plan), handset to 2027-06  active
    S3 K2 north P1  contract to 2027-12-31          active, in arrears every month
    S4 K3 north P1                                  churned in M2
    S5 K4 south P2  (bundle plan)                   active
    S6 K5 south P1                                  churned in M3 (still billed in M3)
    S7 K5 south P1                                  active

Every figure the tests assert is derived in the test next to the assertion.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from tenure.engines.warehouse import Warehouse

M1, M2, M3 = "2026-01", "2026-02", "2026-03"
MONTHS = (M1, M2, M3)
SUBS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7")
CUSTOMER = {"S1": "K1", "S2": "K1", "S3": "K2", "S4": "K3", "S5": "K4", "S6": "K5", "S7": "K5"}
REGION = {"K1": "north", "K2": "north", "K3": "north", "K4": "south", "K5": "south"}
PLAN = {"S1": "P1", "S2": "P2", "S3": "P1", "S4": "P1", "S5": "P2", "S6": "P1", "S7": "P1"}
CONTRACT = {"S1": dt.date(2026, 6, 30), "S3": dt.date(2027, 12, 31)}
SEGMENT = {"S1": "seg_a", "S2": "seg_a", "S3": "seg_b", "S4": "seg_b", "S5": "seg_a", "S6": "seg_b", "S7": "seg_b"}
CHURNED = {M1: set(), M2: {"S4"}, M3: {"S4", "S6"}}
# revenue, arrears, broadband, tv per month; a subscriber without a row has no usage that month.
USAGE = {
    M1: {"S1": (40, 0, False, False), "S2": (100, 0, False, True), "S3": (40, 10, False, False),
         "S4": (60, 0, False, False), "S5": (80, 0, False, False), "S6": (10, 0, False, False),
         "S7": (20, 5, False, False)},
    M2: {"S1": (40, 0, True, False), "S2": (100, 0, False, True), "S3": (40, 20, False, False),
         "S5": (80, 0, False, False), "S6": (10, 40, False, False), "S7": (20, 0, False, False)},
    M3: {"S1": (50, 0, True, False), "S2": (120, 0, False, True), "S3": (30, 30, False, False),
         "S5": (80, 15, False, False), "S6": (10, 40, False, False), "S7": (20, 8, False, False)},
}
# is_core, card grade, credit rating, value level
PROFILE = {
    M1: {"S1": (True, "gold", "A", 3), "S2": (True, "diamond", "A", 4), "S3": (False, "silver", "B", 2),
         "S4": (True, "gold", "B", 3), "S5": (True, "gold", "C", 3), "S6": (False, "none", "C", 1),
         "S7": (False, "none", "B", 1)},
    M2: {"S1": (True, "silver", "A", 2), "S2": (True, "diamond", "A", 4), "S3": (False, "silver", "B", 2),
         "S4": (False, "none", "B", 1), "S5": (True, "gold", "C", 3), "S6": (False, "none", "C", 1),
         "S7": (False, "none", "B", 1)},
    M3: {"S1": (True, "gold", "A", 3), "S2": (True, "diamond", "A", 4), "S3": (False, "silver", "B", 2),
         "S4": (False, "none", "B", 1), "S5": (True, "gold", "C", 3), "S6": (False, "none", "C", 1),
         "S7": (False, "none", "B", 1)},
}
AGREEMENTS = [  # id, customer, subscriber, kind, end, value
    ("A1", "K2", "S3", "plan_contract", dt.date(2026, 5, 31), 1200.0),
    ("A2", "K4", None, "group_agreement", dt.date(2026, 3, 15), 5000.0),
    ("A3", "K1", "S2", "handset_contract", dt.date(2027, 6, 30), 2400.0),
    ("A4", "K5", None, "group_agreement", dt.date(2025, 12, 31), 900.0),
]
SURVEYS = {M2: [("S1", 9), ("S3", 6)], M3: [("S1", 10), ("S2", 8), ("S5", 9)]}
WARNED_M2 = [("S1", "r1"), ("S3", "r1"), ("S3", "r2"), ("S6", "r1"), ("S7", "r2")]
CONTACTS_M3 = [  # subscriber, when, channel, direction, purpose
    ("S1", dt.datetime(2026, 3, 3, 10), "hotline", "outbound", "care"),
    ("S3", dt.datetime(2026, 3, 12, 10), "hotline", "outbound", "care"),
    ("S3", dt.datetime(2026, 3, 20, 10), "sms", "outbound", "care"),
    ("S2", dt.datetime(2026, 3, 5, 10), "sms", "outbound", "care"),
    ("S6", dt.datetime(2026, 3, 2, 10), "hotline", "inbound", "care"),
    ("S7", dt.datetime(2026, 3, 2, 10), "sms", "outbound", "marketing"),
]


def _write(wh: Warehouse, month: str, area: str, **tables: pa.Table) -> None:
    with wh.write_month(month, area) as out:
        for name, data in tables.items():
            out.write(name, data)


def insight_warehouse(root: Path) -> Warehouse:
    wh = Warehouse(root)
    for m in MONTHS:
        subs = list(SUBS)
        inputs = {
            "customers": pa.table({"customer_id": sorted(REGION), "region": [REGION[k] for k in sorted(REGION)]}),
            "plans": pa.table({"plan_id": ["P1", "P2"], "name": ["Basic", "Family bundle"],
                               "is_bundle": [False, True]}),
            "subscribers": pa.table({
                "subscriber_id": subs, "customer_id": [CUSTOMER[s] for s in subs],
                "plan_id": [PLAN[s] for s in subs], "region": [REGION[CUSTOMER[s]] for s in subs],
                "status": ["churned" if s in CHURNED[m] else "active" for s in subs],
                "contract_end_date": pa.array([CONTRACT.get(s) for s in subs], pa.date32())}),
            "monthly_usage": pa.table({
                "month": [m] * len(USAGE[m]), "subscriber_id": list(USAGE[m]),
                "revenue": [float(v[0]) for v in USAGE[m].values()],
                "arrears": [float(v[1]) for v in USAGE[m].values()],
                "bundle_broadband": [v[2] for v in USAGE[m].values()],
                "bundle_tv": [v[3] for v in USAGE[m].values()]}),
            "agreements": pa.table({
                "agreement_id": [a[0] for a in AGREEMENTS], "customer_id": [a[1] for a in AGREEMENTS],
                "subscriber_id": pa.array([a[2] for a in AGREEMENTS], pa.string()),
                "kind": [a[3] for a in AGREEMENTS], "end_date": pa.array([a[4] for a in AGREEMENTS], pa.date32()),
                "value": [a[5] for a in AGREEMENTS]}),
        }
        if m in SURVEYS:
            inputs["satisfaction_surveys"] = pa.table({
                "survey_id": [f"V{m}{i}" for i in range(len(SURVEYS[m]))],
                "subscriber_id": [s for s, _ in SURVEYS[m]], "score": [v for _, v in SURVEYS[m]],
                "surveyed_on": pa.array([dt.date(int(m[:4]), int(m[5:]), 10)] * len(SURVEYS[m]), pa.date32())})
        if m == M3:
            inputs["channel_contacts"] = pa.table({
                "contact_id": [f"C{i}" for i in range(len(CONTACTS_M3))],
                "subscriber_id": [c[0] for c in CONTACTS_M3],
                "contacted_at": pa.array([c[1] for c in CONTACTS_M3], pa.timestamp("us")),
                "channel": [c[2] for c in CONTACTS_M3], "direction": [c[3] for c in CONTACTS_M3],
                "purpose": [c[4] for c in CONTACTS_M3]})
        _write(wh, m, "input", **inputs)
        prof = PROFILE[m]
        outputs = {"profiles": pa.table({
            "subscriber_id": subs, "customer_id": [CUSTOMER[s] for s in subs],
            "region": [REGION[CUSTOMER[s]] for s in subs], "segment_id": [SEGMENT[s] for s in subs],
            "is_core": [prof[s][0] for s in subs], "card_grade": [prof[s][1] for s in subs],
            "credit_rating": [prof[s][2] for s in subs], "value_level": [prof[s][3] for s in subs]})}
        if m == M2:
            outputs["warnings"] = pa.table({"subscriber_id": [w[0] for w in WARNED_M2],
                                            "rule_id": [w[1] for w in WARNED_M2]})
        _write(wh, m, "output", **outputs)
    return wh


PASSWORD = "correct-horse-battery"
AM_ONE, AM_TWO = "am_one", "am_two"
PORTFOLIO = {AM_ONE: ["K1", "K2"], AM_TWO: ["K4", "K5"]}
# work orders of M3 per account manager: (assigned, done)
WORK_ORDERS = {AM_ONE: (4, 3), AM_TWO: (2, 0)}
# return visits: customer, due, status (one due in April does not count for March; cancelled never counts)
VISITS = [("K1", dt.date(2026, 3, 10), "done"), ("K2", dt.date(2026, 3, 20), "open"),
          ("K4", dt.date(2026, 3, 5), "done"), ("K4", dt.date(2026, 4, 2), "open"),
          ("K5", dt.date(2026, 3, 6), "cancelled")]


def insight_services(home: Path):  # type: ignore[no-untyped-def]
    """The warehouse above plus a store with two account managers, their portfolios, work orders and visits,
    and one user of every other role (``rm``, ``analyst``, ``owner_south`` for region ``south``, ``viewer``)."""
    import uuid

    from tenure.bootstrap import build
    from tenure.config import Settings
    from tenure.engines.store.campaign_models import WorkOrder
    from tenure.engines.store.enterprise_models import ReturnVisitTask

    insight_warehouse(home / "warehouse")
    svc = build(Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex))
    for name, role in ((AM_ONE, "account_manager"), (AM_TWO, "account_manager"), ("rm", "retention_manager"),
                       ("analyst", "analyst"), ("owner_south", "channel_owner"), ("viewer", "viewer")):
        svc.users.add(None, name, role, password=PASSWORD, locale="en")
    for am, customers in PORTFOLIO.items():
        svc.users.assign(None, am, customers=customers)
    svc.users.assign(None, "owner_south", regions=["south"])
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with svc.uow() as uow:
        ids = {u.name: u.id for u in uow.users.list()}
        n = 0
        for am, (assigned, done) in WORK_ORDERS.items():
            for i in range(assigned):
                n += 1
                uow.session.add(WorkOrder(
                    month=M3, campaign_id="care", subscriber_id=f"W{n}", customer_id=PORTFOLIO[am][0],
                    channel="account_manager", assignee_id=ids[am], due_date=dt.date(2026, 3, 20),
                    status="done" if i < done else "open", created_at=now))
        for customer, due, status in VISITS:
            uow.session.add(ReturnVisitTask(customer_id=customer, subject="fault", due_on=due, status=status,
                                            open_key=None, assigned_to="", created_at=now,
                                            done_on=due if status == "done" else None))
        uow.commit()
    return svc
