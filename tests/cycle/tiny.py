"""A hand-made operator whose features are computed by hand in the tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from tenure.domain.model import month_range
from tenure.engines.warehouse import Warehouse

from .cycle_builders import customer, day, plan, subscriber, ts, uid, usage, write_month

MONTHS = month_range("2026-01", "2026-06")
ARPU_X = {"2026-01": 100.0, "2026-02": 100.0, "2026-03": 100.0, "2026-04": 70.0, "2026-05": 50.0, "2026-06": 30.0}


@dataclass
class Tiny:
    x: str  # declining mature subscriber with events
    y: str  # new subscriber, two months of history
    z: str  # churned before June
    w: str  # churned in June
    cheap: str
    dear: str


def build_tiny(root: Path, months: list[str] = MONTHS) -> Tiny:
    wh = Warehouse(root)
    cheap, dear = plan(monthly_fee=38.0), plan(monthly_fee=88.0, brand="premium", premium=True)
    cx, cy, cz, cw = (customer() for _ in range(4))
    sx = subscriber(cx["customer_id"], cheap["plan_id"], activation_date=dt.date(2025, 3, 10),
                    contract_end_date=dt.date(2026, 9, 30))
    sy = subscriber(cy["customer_id"], cheap["plan_id"], activation_date=dt.date(2026, 5, 3))
    sz = subscriber(cz["customer_id"], cheap["plan_id"], activation_date=dt.date(2022, 1, 1))
    sw = subscriber(cw["customer_id"], dear["plan_id"], activation_date=dt.date(2022, 1, 1))
    x, y, z, w = (s["subscriber_id"] for s in (sx, sy, sz, sw))
    for m in months:
        snap = [sx, sw | ({"status": "churned", "churn_date": day(m, 10), "churn_type": "port_out"}
                          if m == "2026-06" else {})]
        use = [usage(m, x, revenue=ARPU_X.get(m, 999.0), mou_onnet=120.0, mou_offnet=60.0,
                     arrears=12.5 if m == "2026-06" else (5.0 if m == "2026-03" else 0.0)),
               usage(m, w, revenue=90.0)]
        if m >= "2026-05":
            snap.append(sy)
            use.append(usage(m, y, revenue=20.0 if m == "2026-05" else 40.0))
        if m < "2026-04":
            snap.append(sz)
            use.append(usage(m, z, revenue=60.0))
        else:
            snap.append(sz | {"status": "churned", "churn_date": dt.date(2026, 3, 20), "churn_type": "voluntary"})
        complaints = [{"complaint_id": uid("CP"), "subscriber_id": x, "created_at": ts(m), "category": "network",
                       "severity": 2}] if m == "2026-04" else []
        orders = []
        if m == "2026-05":
            orders.append({"order_id": uid("O"), "subscriber_id": x, "created_at": ts(m), "kind": "plan_change",
                           "from_plan": dear["plan_id"], "to_plan": cheap["plan_id"]})
        if m == "2026-03":
            orders.append({"order_id": uid("O"), "subscriber_id": x, "created_at": ts(m), "kind": "plan_change",
                           "from_plan": cheap["plan_id"], "to_plan": dear["plan_id"]})
        contacts = []
        if m == "2026-06":
            contacts += [{"contact_id": uid("CC"), "subscriber_id": x, "contacted_at": ts(m, d), "channel": "hotline",
                          "direction": "inbound", "purpose": "billing"} for d in (3, 4)]
            contacts.append({"contact_id": uid("CC"), "subscriber_id": x, "contacted_at": ts(m), "channel": "sms",
                             "direction": "outbound", "purpose": "care"})
        if m == "2026-05":
            contacts.append({"contact_id": uid("CC"), "subscriber_id": x, "contacted_at": ts(m), "channel": "store",
                             "direction": "inbound", "purpose": "order"})
        write_month(wh, m, {"customers": [cx, cy, cz, cw], "plans": [cheap, dear], "subscribers": snap,
                            "monthly_usage": use, "complaints": complaints, "service_orders": orders,
                            "channel_contacts": contacts, "group_members": [], "enterprise_groups": [],
                            "agreements": []})
    return Tiny(x, y, z, w, cheap["plan_id"], dear["plan_id"])
