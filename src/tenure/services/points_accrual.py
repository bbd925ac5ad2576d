"""The monthly points job: spend and anniversary points for every points account, then expiry.

For month M, each account's customer earns points for the revenue billed to
all of the customer's subscriptions in M (``monthly_usage.revenue``), at the
best card grade any of those subscriptions holds in M's profiles; a customer
whose first subscription was activated in M's calendar month N full years ago
earns the anniversary bonus for N years. Points are dated on the day the job
runs (never before the end of M) and carry the reference ``spend M`` /
``tenure YYYY``, so a rerun of the same month adds nothing. Lots past their
last usable day are expired on the same date.

The warehouse is read with DuckDB: one aggregate per customer, only for the
customers that hold an account.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from tenure.domain.errors import Conflict, InputError
from tenure.domain.grades import CARD_GRADES
from tenure.domain.model import parse_month
from tenure.engines.warehouse import Warehouse
from tenure.services.auth import Principal
from tenure.services.key_accounts import today_of
from tenure.services.points import PointsService

_GRADE_RANK_SQL = " ".join(f"when '{g}' then {i}" for i, g in enumerate(CARD_GRADES) if i)
"""The CASE branches ranking a card grade by ``CARD_GRADES`` (our own constants, no input)."""


def _pq(path: Any) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def month_end(month: str) -> date:
    y, m = (int(x) for x in parse_month(month).split("-"))
    return date(y, m, calendar.monthrange(y, m)[1])


def customer_month(warehouse: Warehouse, month: str, customers: list[str]) -> dict[str, dict[str, Any]]:
    """customer_id -> spend, best card grade and first activation date in ``month`` (customers with usage)."""
    for table in ("monthly_usage", "subscribers"):
        if not warehouse.has(table, month, "input"):
            raise InputError(f"month {month} has no {table} in the warehouse; load it first")
    con = duckdb.connect()
    try:
        con.register("wanted", pa.table({"customer_id": pa.array(customers, pa.string())}))
        profiles = warehouse.has("profiles", month, "output")
        grade_sql = (f"""left join (select subscriber_id, card_grade from {_pq(warehouse.path('profiles', month, 'output'))})
                         p using (subscriber_id)""" if profiles else "")
        grade_col = "p.card_grade" if profiles else "null"
        rows = con.execute(f"""
            select s.customer_id,
                   sum(coalesce(u.revenue, 0))::decimal(18, 2) as spend,
                   max(case lower(coalesce({grade_col}, 'none')) {_GRADE_RANK_SQL} else 0 end) as grade_rank,
                   min(s.activation_date) as first_activation
            from {_pq(warehouse.path('subscribers', month, 'input'))} s
            join wanted w using (customer_id)
            join {_pq(warehouse.path('monthly_usage', month, 'input'))} u using (subscriber_id)
            {grade_sql}
            group by s.customer_id""").fetchall()
    finally:
        con.close()
    return {c: {"spend": Decimal(str(spend)), "card_grade": CARD_GRADES[int(rank or 0)], "first_activation": first}
            for c, spend, rank, first in rows}


def anniversary_years(first_activation: date | None, month: str) -> int:
    """Full years completed in ``month`` by a customer first activated on ``first_activation`` (0 if not their month)."""
    if first_activation is None:
        return 0
    y, m = (int(x) for x in month.split("-"))
    if first_activation.month != m:
        return 0
    return max(0, y - first_activation.year)


def accrue_month(points: PointsService, warehouse: Warehouse, month: str,
                 principal: Principal | None = None) -> dict[str, Any]:
    """Run the month's accrual and expiry for every account; counts of what was done and set aside."""
    month = parse_month(month)
    on = max(today_of(points.clock), month_end(month))
    accounts = points.account_ids()
    facts = customer_month(warehouse, month, sorted({c for _, c in accounts}))
    out: dict[str, Any] = {"month": month, "posted_on": on.isoformat(), "accounts": len(accounts),
                           "spend_accounts": 0, "spend_points": 0, "tenure_accounts": 0, "tenure_points": 0,
                           "already_accrued": 0, "no_usage": 0, "expired_points": 0, "refused": []}
    for account_id, customer_id in accounts:
        fact = facts.get(customer_id)
        try:
            if fact is None:
                out["no_usage"] += 1
            else:
                earned = points.accrue_spend(principal, account_id, fact["spend"], fact["card_grade"], month, on)
                if earned:
                    out["spend_accounts"] += 1
                    out["spend_points"] += sum(e["amount"] for e in earned)
                elif points.rules.spend_points(fact["spend"], fact["card_grade"]) > 0:
                    out["already_accrued"] += 1
                years = anniversary_years(fact["first_activation"], month)
                if years > 0:
                    bonus = points.earn_for_tenure(principal, account_id, years, on)
                    if bonus:
                        out["tenure_accounts"] += 1
                        out["tenure_points"] += sum(e["amount"] for e in bonus)
            out["expired_points"] -= sum(e["amount"] for e in points.expire(principal, account_id, on))
        except (Conflict, InputError) as exc:  # e.g. the ledger already has entries after the posting day
            out["refused"].append({"account_id": account_id, "reason": str(exc)})
    return out
