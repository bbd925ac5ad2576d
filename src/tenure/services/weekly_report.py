"""Weekly tracking report (周报): per campaign, segment, channel and executor, what was planned,
contacted, reached, accepted and refused in one ISO week, with refusal reasons.

``planned`` counts the work orders of the month(s) the week falls in;
``contacted`` those with at least one attempt in the week; ``reached`` those
with a reached attempt; ``accepted`` and ``refused`` follow the last reached
answer of the week. Each order is counted once per row, so the totals are
the sums of the rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from tenure.domain.errors import InputError, PermissionDenied
from tenure.domain.outcomes import REASONS
from tenure.engines.store.unit_of_work import UnitOfWork

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
MEASURES = ("planned", "contacted", "reached", "accepted", "refused", "thinking")


READER_ROLES = frozenset({"administrator", "analyst", "retention_manager", "channel_owner"})
"""Roles that read the weekly report (the whole team's results, not one portfolio)."""


def check_reader(role: str) -> None:
    """Raise :class:`PermissionDenied` unless ``role`` may read the weekly report."""
    if role not in READER_ROLES:
        raise PermissionDenied(f"role {role!r} may not read the weekly report")


def week_bounds(week: str) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of ISO week ``YYYY-Www``.

    >>> week_bounds("2026-W46")
    (datetime.date(2026, 11, 9), datetime.date(2026, 11, 15))
    """
    m = WEEK_RE.match(week.strip())
    if not m:
        raise InputError(f"week must look like 2026-W46, got {week!r}")
    try:
        first = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError as exc:
        raise InputError(f"{week}: {exc}") from None
    return first, first + dt.timedelta(days=6)


def _plain(row: Any) -> SimpleNamespace:
    return SimpleNamespace(**{c.key: getattr(row, c.key) for c in row.__table__.columns})


def weekly_report(uow_factory: Callable[[], UnitOfWork], week: str) -> dict[str, Any]:
    """The tracking report of ``week`` as plain data: rows, totals and refusal reasons."""
    first, last = week_bounds(week)
    months = sorted({first.strftime("%Y-%m"), last.strftime("%Y-%m")})
    with uow_factory() as uow:
        # Plain copies: the rows are read after the session is gone.
        orders = [_plain(o) for o in uow.work_orders.orders_due_between(months)]
        attempts = [(_plain(o), _plain(r)) for o, r in uow.work_orders.outcomes_between(first, last)]
        names = {u.id: u.name for u in uow.users.list()}
    by_order: dict[int, list[Any]] = {}
    for order, outcome in attempts:
        by_order.setdefault(order.id, []).append(outcome)
    extra = {order.id: order for order, _ in attempts if order.month not in months}

    rows: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for o in [*orders, *extra.values()]:
        tried = sorted(by_order.get(o.id, []), key=lambda r: (r.contact_date, r.attempt))
        executor = names.get(o.assignee_id or -1) or (tried[-1].recorded_by if tried else "-")
        key = (o.campaign_id, o.segment_id or "-", o.channel, executor)
        row = rows.setdefault(key, {"campaign_id": key[0], "segment_id": key[1], "channel": key[2],
                                    "executor": key[3], **{m: 0 for m in MEASURES}, "reasons": {}})
        if o.month in months:
            row["planned"] += 1
        if not tried:
            continue
        row["contacted"] += 1
        reached = [r for r in tried if r.reached]
        if not reached:
            continue
        row["reached"] += 1
        answer = reached[-1]
        if answer.response in ("accepted", "refused", "thinking"):
            row[answer.response] += 1
        if answer.response == "refused":
            reason = answer.reason or "unspecified"
            row["reasons"][reason] = row["reasons"].get(reason, 0) + 1

    out_rows = sorted(rows.values(), key=lambda r: (r["campaign_id"], r["segment_id"], r["channel"], r["executor"]))
    totals: dict[str, Any] = {m: sum(r[m] for r in out_rows) for m in MEASURES}
    reasons: dict[str, int] = {}
    for r in out_rows:
        for k, v in r["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    totals["reasons"] = dict(sorted(reasons.items(), key=lambda kv: (REASONS + ("unspecified",)).index(kv[0])
                                    if kv[0] in REASONS + ("unspecified",) else 99))
    for r in [*out_rows, totals]:
        r["contact_rate"] = round(r["contacted"] / r["planned"], 4) if r["planned"] else None
        r["acceptance_rate"] = round(r["accepted"] / r["reached"], 4) if r["reached"] else None
    return {"week": week, "first_day": first.isoformat(), "last_day": last.isoformat(), "rows": out_rows,
            "totals": totals}


def write_xlsx(report: dict[str, Any], path: Any) -> None:
    """The weekly report as an Excel workbook (one row per campaign, segment, channel and executor)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = report["week"]
    head = ["campaign_id", "segment_id", "channel", "executor", *MEASURES, "contact_rate", "acceptance_rate",
            "refusal reasons"]
    ws.append(head)
    for r in report["rows"]:
        ws.append([r[h] for h in head[:-1]] + ["; ".join(f"{k} {v}" for k, v in r["reasons"].items())])
    t = report["totals"]
    ws.append(["total", "", "", "", *[t[m] for m in MEASURES], t["contact_rate"], t["acceptance_rate"],
               "; ".join(f"{k} {v}" for k, v in t["reasons"].items())])
    wb.save(path)
