"""Small builders of warehouse months and store users for the web tests (unique ids, no shared fixtures data)."""

from __future__ import annotations

import itertools
import random
import re
import uuid
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from tenure.config import Settings
from tenure.domain.model import month_add
from tenure.engines.warehouse import Warehouse

REGIONS = ("广州", "深圳", "佛山")
PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter):05d}"


def build_warehouse(
    root: Path, customers: int = 24, months: int = 3, last_month: str = "2026-03", with_output: bool = True,
    seed: int = 7,
) -> dict:
    """Write ``months`` input months (and output months with profiles and warnings) ending at ``last_month``.

    Returns the ids it used, so tests pick real customers instead of hard-coding them.
    """
    rng = random.Random(seed)
    wh = Warehouse(root)
    month_list = [month_add(last_month, -i) for i in reversed(range(months))]
    cust_ids = [f"C{i:06d}" for i in range(1, customers + 1)]
    subs = []  # (subscriber_id, customer_id, msisdn, region)
    for i, c in enumerate(cust_ids):
        for k in range(1 + (i % 3 == 0)):
            subs.append((f"S{i:06d}{k}", c, f"13{8 - k}{i:04d}{k}{rng.randint(100, 999)}", REGIONS[i % len(REGIONS)]))
    churned = {subs[j][0] for j in range(2, len(subs), 9)}
    plans = pa.table({
        "plan_id": ["P58", "P128"], "name": ["畅享 58", "全家享 128"], "brand": ["local", "premium"],
        "payment_type": ["prepaid", "postpaid"], "monthly_fee": [58.0, 128.0], "voice_minutes": [300, 1000],
        "data_mb": [10240, 40960], "is_bundle": [False, True], "premium": [False, True],
    })
    for mi, m in enumerate(month_list):
        last = mi == len(month_list) - 1
        customers_t = pa.table({
            "customer_id": cust_ids,
            "customer_type": ["enterprise" if i % 11 == 0 else "individual" for i in range(len(cust_ids))],
            "name": [f"客户{i:03d}" if i % 2 else f"Customer {i:03d}" for i in range(len(cust_ids))],
            "id_number": [f"44010119{80 + i % 20}0101{i:04d}" for i in range(len(cust_ids))],
            "region": [REGIONS[i % len(REGIONS)] for i in range(len(cust_ids))],
            "city": ["天河"] * len(cust_ids),
            "vip_card": [("diamond", "gold", "silver", "none")[i % 4] for i in range(len(cust_ids))],
            "credit_limit": [100.0 * (i % 5) for i in range(len(cust_ids))],
            "deposit": [0.0] * len(cust_ids),
            "join_date": [date(2015 + i % 8, 1 + i % 12, 1) for i in range(len(cust_ids))],
            "birth_year": [1970 + i % 30 for i in range(len(cust_ids))],
            "gender": [("F", "M")[i % 2] for i in range(len(cust_ids))],
        })
        month_start = date(int(m[:4]), int(m[5:]), 1)
        status = ["churned" if (s[0] in churned and last) else "active" for s in subs]
        subscribers_t = pa.table({
            "subscriber_id": [s[0] for s in subs], "msisdn": [s[2] for s in subs], "customer_id": [s[1] for s in subs],
            "plan_id": ["P128" if i % 4 == 0 else "P58" for i in range(len(subs))],
            "payment_type": ["postpaid" if i % 4 == 0 else "prepaid" for i in range(len(subs))],
            "brand": ["premium" if i % 4 == 0 else "local" for i in range(len(subs))],
            "region": [s[3] for s in subs], "city": ["天河"] * len(subs),
            "activation_date": [date(2018, 1 + i % 12, 1) for i in range(len(subs))],
            "status": status,
            "churn_date": [month_start + timedelta(days=9) if st == "churned" else None for st in status],
            "churn_type": ["port_out" if st == "churned" else None for st in status],
            "contract_end_date": [date(2026, 12, 31) if i % 5 == 0 else None for i in range(len(subs))],
        })
        usage_t = pa.table({
            "month": [m] * len(subs), "subscriber_id": [s[0] for s in subs],
            "revenue": [round(rng.uniform(5, 260), 2) for _ in subs],
            "mou": [float(rng.randint(50, 900)) for _ in subs],
            "mou_onnet": [float(rng.randint(0, 40)) for _ in subs],
            "mou_offnet": [float(rng.randint(0, 40)) for _ in subs],
            "data_mb": [float(rng.randint(100, 30000)) for _ in subs],
            "sms": [rng.randint(0, 50) for _ in subs], "roaming_mou": [0.0] * len(subs),
            "recharge_count": [1] * len(subs), "recharge_amount": [50.0] * len(subs),
            "arrears": [20.0 if i % 7 == 0 else 0.0 for i in range(len(subs))],
            "bundle_broadband": [i % 3 == 0 for i in range(len(subs))], "bundle_tv": [False] * len(subs),
            "other_op_cs_calls": [i % 4 for i in range(len(subs))], "other_op_ip_spend": [0.0] * len(subs),
        })
        complaints_t = pa.table({
            "complaint_id": [f"K{m}{i}" for i in range(0, len(subs), 5)],
            "subscriber_id": [subs[i][0] for i in range(0, len(subs), 5)],
            "created_at": [f"{m}-05 10:00:00" for _ in range(0, len(subs), 5)],
            "category": ["network"] * len(range(0, len(subs), 5)), "severity": [2] * len(range(0, len(subs), 5)),
            "resolved_at": [f"{m}-07 10:00:00" for _ in range(0, len(subs), 5)],
        })
        orders_t = pa.table({
            "order_id": [f"O{m}{i}" for i in range(0, len(subs), 4)],
            "subscriber_id": [subs[i][0] for i in range(0, len(subs), 4)],
            "created_at": [f"{m}-03 09:00:00" for _ in range(0, len(subs), 4)],
            "kind": ["plan_change"] * len(range(0, len(subs), 4)),
            "from_plan": ["P128"] * len(range(0, len(subs), 4)), "to_plan": ["P58"] * len(range(0, len(subs), 4)),
            "closed_at": [None] * len(range(0, len(subs), 4)),
        })
        with wh.write_month(m, "input") as w:
            w.write("customers", customers_t)
            w.write("plans", plans)
            w.write("subscribers", subscribers_t)
            w.write("monthly_usage", usage_t)
            w.write("complaints", complaints_t)
            w.write("service_orders", orders_t)
        if with_output and mi >= len(month_list) - 2:
            stages = ["ABCDE"[(i + mi) % 5] for i in range(len(subs))]
            prev = ["ABCDE"[(i + mi - 1) % 5] for i in range(len(subs))]
            profiles_t = pa.table({
                "subscriber_id": [s[0] for s in subs], "customer_id": [s[1] for s in subs],
                "region": [s[3] for s in subs], "stage": stages, "previous_stage": prev,
                "is_core": [i % 2 == 0 for i in range(len(subs))],
                "card_grade": [("diamond", "gold", "silver", None)[i % 4] for i in range(len(subs))],
                "value_level": [1 + i % 5 for i in range(len(subs))],
                "current_value": [round(rng.uniform(10, 300), 2) for _ in subs],
                "segment_id": [i % 24 for i in range(len(subs))],
                "tags": [["high_value", "data_heavy"] if i % 2 else ["stable"] for i in range(len(subs))],
                **{f"pref_{ch}": [rng.randint(0, 9) for _ in subs]
                   for ch in ("store", "hotline", "ivr", "website", "sms", "wap", "self_service")},
                "warning_count": [1 if i % 3 == 0 else 0 for i in range(len(subs))],
            })
            warned = [s for i, s in enumerate(subs) if i % 3 == 0]
            warnings_t = pa.table({
                "subscriber_id": [s[0] for s in warned],
                "rule_id": ["spend_decline_3m" if i % 2 else "other_op_ip_spend" for i in range(len(warned))],
                "family": ["retention" if i % 2 else "prevention" for i in range(len(warned))],
                "severity": [3 if i % 2 else 2 for i in range(len(warned))],
                "reason_en": ["spend fell more than 20% three months running" for _ in warned],
                "reason_zh": ["连续三个月消费下降超过20%" for _ in warned],
            })
            with wh.write_month(m, "output") as w:
                w.write("profiles", profiles_t)
                w.write("warnings", warnings_t)
    return {"months": month_list, "customers": cust_ids, "subscribers": subs, "regions": REGIONS}


def make_settings(home: Path, **overrides: object) -> Settings:
    return Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex, **overrides)


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)
