"""A small warehouse with enterprise groups on top of the web tests' warehouse, and app fixtures' helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

from tenure.engines.warehouse import Warehouse

from ..web.web_builders import build_warehouse


def build_group_warehouse(root: Path) -> dict:
    """The web warehouse plus three groups (one per enterprise customer), members, agreements,
    circuits, a fixed fault, and the monthly group profiles and warnings of the last month."""
    ids = build_warehouse(root)
    wh = Warehouse(root)
    customers, subs = ids["customers"], ids["subscribers"]
    enterprise = [c for i, c in enumerate(customers) if i % 11 == 0]
    groups = []
    members = []
    for n, cust in enumerate(enterprise):
        gid = f"G{n + 1:03d}"
        groups.append({"group_id": gid, "customer_id": cust, "name": f"集团{n + 1} Group {n + 1}",
                       "group_class": "ABCD"[n % 4], "industry": ("government", "finance", "education")[n % 3],
                       "region": "广州", "headcount": 100 * (n + 1), "account_manager": f"am{n}"})
        own = [s[0] for s in subs if s[1] == cust]
        for k, sid in enumerate(own):
            members.append({"group_id": gid, "subscriber_id": sid, "role": "key_person" if k == 0 else "member",
                            "title": "CIO" if k == 0 else None, "joined_date": date(2020, 1, 1)})
    agreements = [{"agreement_id": f"A{g['group_id']}", "customer_id": g["customer_id"], "group_id": g["group_id"],
                   "subscriber_id": None, "kind": "group_agreement", "start_date": date(2024, 1, 1),
                   "end_date": date(2026, 12, 31), "value": 120000.0} for g in groups[:1]]
    circuits = [{"circuit_id": f"CIR{g['group_id']}", "customer_id": g["customer_id"], "group_id": g["group_id"],
                 "service": "digital", "bandwidth_kbps": 2048, "status": "active", "activation_date": date(2024, 5, 1),
                 "monthly_fee": 800.0, "one_off_fee": 2000.0} for g in groups]
    fault_sub = next(m["subscriber_id"] for m in members if m["group_id"] == "G001")
    for m in ids["months"]:
        with wh.write_month(m) as w:
            w.write("enterprise_groups", pa.Table.from_pylist(groups))
            w.write("group_members", pa.Table.from_pylist(members))
            w.write("agreements", pa.Table.from_pylist(agreements, schema=pa.schema([
                ("agreement_id", pa.string()), ("customer_id", pa.string()), ("group_id", pa.string()),
                ("subscriber_id", pa.string()), ("kind", pa.string()), ("start_date", pa.date32()),
                ("end_date", pa.date32()), ("value", pa.float64())])))
            w.write("circuits", pa.Table.from_pylist(circuits))
    last = ids["months"][-1]
    with wh.write_month(last) as w:
        old = wh.read_arrow("service_orders", last).to_pylist()
        rows = [r | {"created_at": datetime.fromisoformat(r["created_at"]), "closed_at": None} for r in old]
        rows.append({"order_id": "FAULT1", "subscriber_id": fault_sub, "created_at": datetime.fromisoformat(
            f"{last}-10 09:00:00"), "kind": "fault", "from_plan": None, "to_plan": None,
            "closed_at": datetime.fromisoformat(f"{last}-11 15:00:00")})
        w.write("service_orders", pa.Table.from_pylist(rows, schema=pa.schema([
            ("order_id", pa.string()), ("subscriber_id", pa.string()), ("created_at", pa.timestamp("us")),
            ("kind", pa.string()), ("from_plan", pa.string()), ("to_plan", pa.string()),
            ("closed_at", pa.timestamp("us"))])))
    with wh.write_month(last, "output") as w:
        w.write("group_profiles", pa.Table.from_pylist([
            {"group_id": g["group_id"], "customer_id": g["customer_id"], "name": g["name"],
             "group_grade": f"{5 - n}A", "star_level": 5 - n, "group_revenue_12m": 50000.0 * (3 - n),
             "members_m0": sum(m["group_id"] == g["group_id"] for m in members), "warning_count": 1 if n == 0 else 0}
            for n, g in enumerate(groups)]))
        w.write("group_warnings", pa.Table.from_pylist([
            {"group_id": "G001", "rule_id": "group_members_leaving", "family": "retention", "severity": 3,
             "reason_en": "members are leaving the group", "reason_zh": "集团成员流失"}]))
    ids["groups"] = {g["group_id"]: g["customer_id"] for g in groups}
    ids["fault_at"] = datetime.fromisoformat(f"{last}-11 15:00:00").replace(tzinfo=UTC)
    return ids
