"""Small operators for monthly-cycle tests, written straight into the warehouse."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from pathlib import Path
from typing import Any

import pyarrow as pa

from tenure.domain.model import CHANNELS, TABLES, month_add
from tenure.engines.schema import arrow_schema
from tenure.engines.warehouse import Warehouse

_ids = itertools.count(1)


def uid(prefix: str) -> str:
    """A unique id within the test process."""
    return f"{prefix}{next(_ids):07d}"


def day(month: str, d: int = 15) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), d)


def ts(month: str, d: int = 15) -> dt.datetime:
    return dt.datetime(int(month[:4]), int(month[5:7]), d, 10, 0, 0)


def to_arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(table)
    cols = {f.name: [r.get(f.name) for r in rows] for f in schema}
    return pa.table(cols, schema=schema.with_metadata(None)) if rows else schema.empty_table()


def write_month(wh: Warehouse, month: str, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Write the given tables (lists of row dicts) as the input of ``month``."""
    with wh.write_month(month, "input") as w:
        for name, rows in tables.items():
            assert name in TABLES, name
            w.write(name, to_arrow(name, rows))


# -- row builders with sensible defaults ------------------------------------------
def plan(**kw: Any) -> dict[str, Any]:
    return {"plan_id": uid("P"), "name": "Plan", "brand": "local", "payment_type": "postpaid",
            "monthly_fee": 58.0, "voice_minutes": 300, "data_mb": 10240, "is_bundle": False,
            "premium": False} | kw


def customer(**kw: Any) -> dict[str, Any]:
    return {"customer_id": uid("C"), "customer_type": "individual", "name": "Zhang San",
            "region": "Fuzhou", "city": "Gulou", "vip_card": "none", "join_date": dt.date(2020, 1, 1)} | kw


def subscriber(customer_id: str, plan_id: str, **kw: Any) -> dict[str, Any]:
    return {"subscriber_id": uid("S"), "msisdn": "13800000000", "customer_id": customer_id,
            "plan_id": plan_id, "payment_type": "postpaid", "brand": "local", "region": "Fuzhou",
            "city": "Gulou", "activation_date": dt.date(2020, 1, 1), "status": "active"} | kw


def usage(month: str, subscriber_id: str, **kw: Any) -> dict[str, Any]:
    return {"month": month, "subscriber_id": subscriber_id, "revenue": 50.0, "mou": 200.0,
            "mou_onnet": 120.0, "mou_offnet": 60.0, "data_mb": 2048.0, "sms": 10,
            "roaming_mou": 0.0, "recharge_count": 0, "recharge_amount": 0.0, "arrears": 0.0,
            "bundle_broadband": False, "bundle_tv": False, "other_op_cs_calls": 0,
            "other_op_ip_spend": 0.0} | kw


# -- a random small operator -----------------------------------------------------------
def random_operator(
    root: Path,
    months: list[str],
    n_subscribers: int = 200,
    n_groups: int = 6,
    seed: int = 1,
) -> dict[str, Any]:
    """Write a random operator of ``n_subscribers`` over ``months`` into the warehouse at ``root``.

    Subscribers churn at random months (and stay in later snapshots as
    churned); usage drifts so that some decline and some grow.
    """
    rnd = random.Random(seed)
    wh = Warehouse(root)
    plans = [
        plan(monthly_fee=f, brand=b, premium=b == "premium", is_bundle=bund,
             payment_type="prepaid" if b == "youth" else "postpaid")
        for f, b, bund in [(18, "youth", False), (38, "local", False), (58, "local", True),
                           (88, "premium", False), (128, "premium", True), (28, "youth", False)]
    ]
    customers = [customer(vip_card=rnd.choice(["none"] * 6 + ["silver", "gold", "diamond"]),
                          region=rnd.choice(["Fuzhou", "Xiamen", "Quanzhou"]))
                 for _ in range(n_subscribers)]
    ent = [customer(customer_type="enterprise", name=f"Ent {i}") for i in range(n_groups)]
    groups = [{"group_id": uid("G"), "customer_id": e["customer_id"], "name": e["name"],
               "group_class": rnd.choice("ABCD"), "industry": rnd.choice(["finance", "government"]),
               "region": "Fuzhou", "headcount": rnd.randint(10, 500), "account_manager": "km1"}
              for e in ent]
    first = months[0]
    subs = []
    for c in customers:
        p = rnd.choice(plans)
        act = day(month_add(first, -rnd.randint(0, 40)), rnd.randint(1, 28))
        subs.append(subscriber(c["customer_id"], p["plan_id"], payment_type=p["payment_type"],
                               brand=p["brand"], region=c["region"], activation_date=act,
                               contract_end_date=day(month_add(first, rnd.randint(-2, 14)), 28)
                               if rnd.random() < 0.4 else None))
    churn_month = {s["subscriber_id"]: rnd.choice(months + [None] * (3 * len(months))) for s in subs}
    membership = [(rnd.choice(groups)["group_id"], s["subscriber_id"], "key_person" if rnd.random() < 0.2 else "member")
                  for s in subs if rnd.random() < 0.3]
    base = {s["subscriber_id"]: rnd.uniform(10, 200) for s in subs}
    drift = {s["subscriber_id"]: rnd.choice([0.6, 0.85, 1.0, 1.0, 1.1, 1.3]) for s in subs}
    agreements = [{"agreement_id": uid("AG"), "customer_id": g["customer_id"], "group_id": g["group_id"],
                   "subscriber_id": None, "kind": "group_agreement", "start_date": dt.date(2020, 1, 1),
                   "end_date": day(month_add(months[-1], rnd.randint(-1, 12)), 28), "value": 10000.0}
                  for g in groups]
    for i, m in enumerate(months):
        snap, use, comp, orders, contacts = [], [], [], [], []
        for s in subs:
            sid = s["subscriber_id"]
            cm = churn_month[sid]
            if cm is not None and cm < m:
                snap.append(s | {"status": "churned", "churn_date": day(cm, 10), "churn_type": "voluntary"})
                continue
            if cm == m:
                snap.append(s | {"status": "churned", "churn_date": day(m, 10), "churn_type": "port_out"})
            else:
                status = "suspended" if rnd.random() < 0.03 else "active"
                snap.append(s | {"status": status})
            if s["activation_date"] > day(m, 28):
                continue
            rev = round(base[sid] * drift[sid] ** i * rnd.uniform(0.9, 1.1), 2)
            mou = round(rev * rnd.uniform(2, 6), 1)
            prepaid = s["payment_type"] == "prepaid"
            use.append(usage(m, sid, revenue=rev, mou=mou, mou_onnet=round(mou * 0.5, 1),
                             mou_offnet=round(mou * rnd.uniform(0.1, 0.5), 1),
                             data_mb=round(rnd.uniform(0, 20000), 1), sms=rnd.randint(0, 50),
                             roaming_mou=rnd.choice([0.0, 0.0, 100.0]),
                             recharge_count=rnd.randint(0, 3) if prepaid else 0,
                             recharge_amount=float(rnd.choice([0, 30, 50, 100])) if prepaid else 0.0,
                             arrears=rnd.choice([0.0] * 9 + [35.5]),
                             bundle_broadband=rnd.random() < 0.2,
                             other_op_cs_calls=rnd.choice([0, 0, 0, 1, 3]),
                             other_op_ip_spend=rnd.choice([0.0, 0.0, 0.0, 20.0, 80.0])))
            if rnd.random() < 0.1:
                comp.append({"complaint_id": uid("CP"), "subscriber_id": sid, "created_at": ts(m),
                             "category": "network", "severity": 1})
            if rnd.random() < 0.15:
                kind = rnd.choice(["plan_change", "cancellation", "fault", "port_out_inquiry"])
                fp, tp = rnd.choice(plans)["plan_id"], rnd.choice(plans)["plan_id"]
                orders.append({"order_id": uid("O"), "subscriber_id": sid, "created_at": ts(m), "kind": kind,
                               "from_plan": fp if kind == "plan_change" else None,
                               "to_plan": tp if kind == "plan_change" else None})
            for _ in range(rnd.choice([0, 0, 1, 2])):
                contacts.append({"contact_id": uid("CC"), "subscriber_id": sid, "contacted_at": ts(m, rnd.randint(1, 28)),
                                 "channel": rnd.choice(CHANNELS), "direction": rnd.choice(["inbound", "inbound", "outbound"]),
                                 "purpose": "inquiry"})
        members = [{"group_id": g, "subscriber_id": sid, "role": role, "joined_date": dt.date(2021, 1, 1)}
                   for g, sid, role in membership if not (churn_month[sid] is not None and churn_month[sid] < m)]
        write_month(wh, m, {
            "customers": customers + ent, "plans": plans, "subscribers": snap, "enterprise_groups": groups,
            "group_members": members, "agreements": agreements, "monthly_usage": use, "complaints": comp,
            "service_orders": orders, "channel_contacts": contacts,
        })
    return {"subscribers": subs, "groups": groups, "plans": plans}
