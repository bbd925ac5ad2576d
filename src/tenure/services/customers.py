"""Customer search and the customer 360 view, read from the warehouse read model.

Every query is filtered by the caller's portfolio (see ``portfolio``) and
phone and ID numbers are masked for callers without ``see_pii``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tenure.domain.errors import InputError, NotFound
from tenure.domain.grades import CARD_GRADES, card_review
from tenure.domain.masking import mask_id_number, mask_msisdn
from tenure.domain.model import CHANNELS
from tenure.engines.store.warehouse_index import View, WarehouseIndex
from tenure.services.auth import Principal
from tenure.services.portfolio import visibility

MAX_RESULTS = 50


def _rows(cur: Any, sql: str, params: list) -> list[dict]:
    res = cur.execute(sql, params)
    names = [d[0] for d in res.description]
    return [dict(zip(names, _plain_row(r))) for r in res.fetchall()]


def _plain_row(row: tuple) -> list:
    out = []
    for v in row:
        if isinstance(v, float) and math.isnan(v):
            v = None
        out.append(v)
    return out


@dataclass(frozen=True)
class SearchHit:
    customer_id: str
    name: str | None
    customer_type: str | None
    region: str | None
    vip_card: str | None
    msisdn: str | None
    subscriptions: int


class CustomerService:
    def __init__(self, index: WarehouseIndex) -> None:
        self.index = index

    # -- search --------------------------------------------------------------
    def search(self, principal: Principal, query: str, limit: int = 20) -> list[SearchHit]:
        """Find customers by phone number (full or start), customer id or name, inside the portfolio."""
        q = (query or "").strip().replace("\x00", "")
        if not q:
            return []
        if len(q) > 64:
            raise InputError("search text is at most 64 characters")
        limit = max(1, min(int(limit), MAX_RESULTS))
        pred, params = visibility(principal, "customer_id", "region")
        pred_s, _ = visibility(principal, "s.customer_id", "s.region")
        with self.index.cursor() as cur:
            if cur is None:
                return []
            has_customers = cur.has("customers")
            # Step 1: the ids of at most `limit` matching customers inside the portfolio, from the
            # narrowest table for the kind of text typed.
            if re.fullmatch(r"\d{3,11}", q):
                # A number: exact on 11 digits, else a prefix (what an operator types), as a range
                # on the number-sorted table.
                upper = q[:-1] + chr(ord(q[-1]) + 1)
                ids_sql = (f"select distinct customer_id from numbers where msisdn >= ? and msisdn < ? and {pred} "
                           f"order by customer_id limit {limit}")
                ids_args = [q, upper, *params]
            else:
                scope = "" if principal.scope == "all" else (
                    f" and customer_id in (select customer_id from numbers where {pred})")
                scope_args = params if scope else []
                upper = q[:-1] + chr(ord(q[-1]) + 1)
                # Customer ids match from the start, as a range on the sorted, indexed column.
                match, match_args = "customer_id >= ? and customer_id < ?", [q, upper]
                looks_like_id = q.isascii() and q.isalnum() and any(ch.isdigit() for ch in q)
                if has_customers and not looks_like_id:
                    # Anything else may be (part of) a name; case only matters for Latin letters.
                    if q.isascii():
                        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                        match, match_args = f"({match} or name ilike ? escape '\\')", [*match_args, like]
                    else:
                        match, match_args = f"({match} or contains(name, ?))", [*match_args, q]
                source = "customers" if has_customers else "numbers"
                ids_sql = (f"select distinct customer_id from {source} where {match}{scope} "
                           f"order by customer_id limit {limit}")
                ids_args = [*match_args, *scope_args]
            ids = [r[0] for r in cur.execute(ids_sql, ids_args).fetchall()]
            if not ids:
                return []
            # Step 2: details of just those customers (IN-lists use the zone maps and indexes).
            marks = ", ".join("?" for _ in ids)
            cust = (f"left join (select customer_id, name, customer_type, vip_card from customers "
                    f"where customer_id in ({marks})) c using (customer_id)") if has_customers else ""
            cols = "any_value(c.name), any_value(c.customer_type), any_value(c.vip_card)" if has_customers \
                else "null, null, null"
            sql = f"""
                select customer_id, {cols}, any_value(s.region), min(s.msisdn), count(*)
                from subscribers s {cust}
                where s.customer_id in ({marks}) and {pred_s}
                group by customer_id order by customer_id"""
            rows = [dict(zip(("customer_id", "name", "customer_type", "vip_card", "region", "msisdn", "subscriptions"),
                             r)) for r in cur.execute(sql, (ids if has_customers else []) + ids + params).fetchall()]
        return [
            SearchHit(r["customer_id"], r["name"], r["customer_type"], r["region"], r["vip_card"],
                      r["msisdn"] if principal.see_pii else mask_msisdn(r["msisdn"]), int(r["subscriptions"]))
            for r in rows
        ]

    # -- customer 360 ----------------------------------------------------------
    def customer_360(self, principal: Principal, customer_id: str) -> dict:
        """Everything known about one customer; NotFound when absent or outside the caller's portfolio."""
        pred, params = visibility(principal, "customer_id", "region")
        with self.index.cursor() as cur:
            cur, subs = _subscriptions(cur, customer_id, pred, params)
            customer: dict = {"customer_id": customer_id}
            if cur.has("customers"):
                found = _rows(cur, "select * from customers where customer_id = ?", [customer_id])
                if found:
                    customer = found[0]
            if cur.has("plans"):
                plans = {p["plan_id"]: p for p in _rows(
                    cur, "select * from plans where list_contains(?::varchar[], plan_id)",
                    [[s["plan_id"] for s in subs]])}
                for s in subs:
                    p = plans.get(s.get("plan_id"))
                    s["plan_name"] = p.get("name") if p else None
                    s["monthly_fee"] = p.get("monthly_fee") if p else None
            usage = []
            if cur.has("usage"):
                usage = _rows(cur, f"""
                    select month, {', '.join(f'round(sum({c}), 2) as {c}' for c in
                                             ('revenue', 'mou', 'mou_onnet', 'mou_offnet', 'data_mb', 'sms', 'arrears'))}
                    from usage where customer_id = ? group by month order by month""", [customer_id])
            complaints = _rows(cur, "select * exclude (customer_id) from complaints where customer_id = ? "
                                    "order by created_at desc", [customer_id]) if cur.has("complaints") else []
            orders = _rows(cur, "select * exclude (customer_id) from service_orders where customer_id = ? "
                                "order by created_at desc", [customer_id]) if cur.has("service_orders") else []
            groups = _rows(cur, "select * exclude (customer_id) from group_membership where customer_id = ?",
                           [customer_id]) if cur.has("group_membership") else []
            agreements = _rows(cur, "select * from agreements where customer_id = ? order by end_date",
                               [customer_id]) if cur.has("agreements") else []
            profiles = _rows(cur, "select * from profiles where customer_id = ? order by subscriber_id",
                             [customer_id]) if cur.has("profiles") else []
            history = _rows(cur, "select month, subscriber_id, stage from stage_history where customer_id = ? "
                                 "order by month", [customer_id]) if cur.has("stage_history") else []
            has_profiles = cur.has("profiles")
            churn_reasons = _rows(cur, "select * exclude (customer_id) from churn_reasons where customer_id = ? "
                                       "order by subscriber_id, rank", [customer_id]) if cur.has("churn_reasons") else []
            decisions = _rows(cur, "select * exclude (customer_id) from decisions where customer_id = ? "
                                   "order by subscriber_id, campaign_id", [customer_id]) if cur.has("decisions") else []
            warnings = _rows(cur, "select * exclude (customer_id) from warnings where customer_id = ? "
                                  "order by severity desc nulls last, rule_id", [customer_id]) if cur.has("warnings") else []
        see = principal.see_pii
        for s in subs:
            s["msisdn"] = s["msisdn"] if see else mask_msisdn(s.get("msisdn"))
        if not see:
            customer["id_number"] = mask_id_number(customer.get("id_number"))
        profile_by_sub = {p["subscriber_id"]: _profile(p) for p in profiles}
        for s in subs:
            s["profile"] = profile_by_sub.get(s["subscriber_id"])
            s["groups"] = [g for g in groups if g["subscriber_id"] == s["subscriber_id"]]
            s["stage_history"] = [h for h in history if h["subscriber_id"] == s["subscriber_id"]]
        arrears_months = sum(1 for u in usage if (u.get("arrears") or 0) > 0)
        return {
            "customer": customer,
            "month": cur.month,
            "output_month": cur.output_month,
            "subscriptions": subs,
            "summary": _summary(profiles, customer.get("vip_card")),
            "credit": {
                "rating": next((p.get("credit_rating") for p in profiles if p.get("credit_rating")), None),
                "months_in_arrears": arrears_months,
                "months_observed": len(usage),
                "current_arrears": usage[-1]["arrears"] if usage else None,
            },
            "usage": usage,
            "warnings": warnings,
            "complaints": complaints,
            "service_orders": orders,
            "agreements": agreements,
            "groups": groups,
            "has_profiles": has_profiles,
            "decisions": decisions,
            "churn_reasons": churn_reasons,
        }

    # -- churn scores ----------------------------------------------------------
    def churn_scores(self, principal: Principal, customer_id: str) -> dict:
        """The scored month's churn scores and stored reasons of a customer's subscriptions.

        The portfolio rule of :meth:`customer_360`: NotFound when the customer
        is absent or outside the caller's portfolio. ``scores`` holds the
        subscriptions the churn model scored (``subscriber_id``,
        ``churn_probability``, ``risk_decile``, ``model_id``); ``reasons`` the
        stored reasons, only the acted-on subscriptions have them.
        """
        pred, params = visibility(principal, "customer_id", "region")
        with self.index.cursor() as cur:
            cur, subs = _subscriptions(cur, customer_id, pred, params)
            ids = [s["subscriber_id"] for s in subs]
            # profiles carry a model's columns only for months run with a promoted churn model
            scored = {"churn_probability", "risk_decile", "model_id"} <= set(cur.model.tables.get("profiles", []))
            scores = _rows(cur, """
                select subscriber_id, churn_probability, risk_decile, model_id from profiles
                where customer_id = ? and list_contains(?::varchar[], subscriber_id)
                  and churn_probability is not null and model_id is not null
                order by subscriber_id""", [customer_id, ids]) if scored else []
            reasons = _rows(cur, "select * exclude (customer_id) from churn_reasons where customer_id = ? "
                                 "and list_contains(?::varchar[], subscriber_id) order by subscriber_id, rank",
                            [customer_id, ids]) if cur.has("churn_reasons") else []
        return {"customer_id": customer_id, "month": cur.output_month, "scores": scores, "reasons": reasons}


def _subscriptions(cur: View | None, customer_id: str, pred: str, params: list) -> tuple[View, list[dict]]:
    """The read model and the customer's subscriptions the caller may see (``pred``: :func:`visibility`).

    NotFound when there are none, whether the customer is absent or outside the portfolio.
    """
    if "\x00" in customer_id or len(customer_id) > 64 or cur is None:
        raise NotFound(f"no customer {customer_id!r}")
    subs = _rows(cur, f"select * from subscribers where customer_id = ? and {pred} order by subscriber_id",
                 [customer_id, *params])
    if not subs:
        raise NotFound(f"no customer {customer_id!r}")
    return cur, subs


def _profile(p: dict) -> dict:
    prefs = {c: p.get(f"pref_{c}") for c in CHANNELS if f"pref_{c}" in p}
    tags = p.get("tags")
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[,;|]", tags) if t]
    out = {k: v for k, v in p.items() if not k.startswith("pref_") and k not in ("customer_id", "subscriber_id")}
    out["tags"] = list(tags or [])
    out["preferences"] = prefs
    return out


def _summary(profiles: list[dict], vip_card: str | None = None) -> dict:
    """The customer-level headline from the subscription profiles: best grade, top value, worst stage.

    ``card_review`` compares the best card earned in the profiles' month with
    ``vip_card``, the card held in the latest loaded month: what is due now,
    so a card changed after the profiles' month to the one earned shows no
    review (the run summary's ``card_reviews`` count both sides as of the
    run month). Subscriptions that left do not earn a card while another
    remains.
    """
    if not profiles:
        return {}
    staying = [p for p in profiles if p.get("status") != "churned"] or profiles
    rank = {c: i for i, c in enumerate(CARD_GRADES)}
    best = max(staying, key=lambda p: (rank.get(str(p.get("card_grade")), 0), p.get("current_value") or 0))
    return {
        "is_core": any(bool(p.get("is_core")) for p in profiles),
        "card_grade": best.get("card_grade"),
        "card_review": card_review(vip_card, best.get("card_grade")),
        "value_level": best.get("value_level"),
        "current_value": round(sum(float(p.get("current_value") or 0) for p in profiles), 2),
        "stage": best.get("stage"),
        "segment_id": best.get("segment_id"),
        "warning_count": sum(int(p.get("warning_count") or 0) for p in profiles),
    }


def jsonable(value: Any) -> Any:
    """Turn dates and numpy scalars into JSON-friendly values (for the API)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value
