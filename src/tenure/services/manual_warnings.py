"""Early warnings raised by people, and one customer's warning list across sources.

An account manager who hears of a crisis raises a warning on one of their
customers: a reason from the controlled list (``domain/manual_warnings.py``),
a severity and a note. It is stored in the operational store
(``manual_warnings``), audited, and withdrawn (never deleted) by its author
or by someone allowed to withdraw warnings (a retention manager).

:meth:`WarningService.for_customer` is the customer's warning list: manual
warnings next to the daily warnings of ``tenure run-day`` (warehouse table
``daily_warnings``) and the month's rule warnings (read model), in one row
format with ``source`` (``manual``, ``daily``, ``rule``).

Portfolio isolation is in the query: the customer's subscriptions are read
from the read model with the caller's visibility predicate, so a customer
outside the portfolio is "not found" (404), whether or not it exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select

from tenure.domain import manual_warnings as mw
from tenure.domain.errors import NotFound, PermissionDenied
from tenure.domain.roles import Permission
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.engines.store.warehouse_index import WarehouseIndex
from tenure.engines.store.warning_models import ManualWarning
from tenure.engines.warehouse import Warehouse
from tenure.services import audit
from tenure.services.auth import Principal
from tenure.services.portfolio import visibility

DAILY_MONTHS = 2
"""Months of daily warnings shown on a customer's list (the newest ones stored)."""
DAILY_LIMIT = 100


def _iso(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite hands back stored UTC times without their zone
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def manual_row(w: ManualWarning) -> dict[str, Any]:
    en, zh, _family = mw.REASONS.get(w.reason, (w.reason, w.reason, w.family))
    return {
        "source": "manual", "id": w.id, "customer_id": w.customer_id, "subscriber_id": w.subscriber_id,
        "day": _iso(w.raised_at.date()), "reason": w.reason, "reason_en": en, "reason_zh": zh,
        "family": w.family, "severity": w.severity, "detail": w.note, "status": w.status,
        "raised_by": w.raised_by, "raised_at": _iso(w.raised_at),
        "withdrawn_by": w.withdrawn_by, "withdrawn_at": _iso(w.withdrawn_at),
    }


class WarningService:
    def __init__(self, uow_factory: Callable[[], UnitOfWork], index: WarehouseIndex, warehouse: Warehouse,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.uow_factory = uow_factory
        self.index = index
        self.warehouse = warehouse
        self.clock = clock

    # -- the portfolio ------------------------------------------------------------------------
    def visible_subscribers(self, principal: Principal, customer_id: str) -> list[str]:
        """The customer's subscription ids, read through the caller's portfolio filter; NotFound otherwise."""
        return self._visible(principal, customer_id)[0]

    def _visible(self, principal: Principal, customer_id: str) -> tuple[list[str], list[dict[str, Any]]]:
        """Subscription ids and the month's rule warnings of a customer inside the caller's portfolio."""
        if not customer_id or "\x00" in customer_id or len(customer_id) > 64:
            raise NotFound(f"no customer {customer_id!r}")
        pred, params = visibility(principal, "customer_id", "region")
        with self.index.cursor() as cur:
            if cur is None:
                raise NotFound(f"no customer {customer_id!r}")
            rows = cur.execute(f"select subscriber_id from subscribers where customer_id = ? and {pred} "
                               "order by subscriber_id", [customer_id, *params]).fetchall()
            if not rows:
                raise NotFound(f"no customer {customer_id!r}")
            rules: list[dict[str, Any]] = []
            if cur.has("warnings"):
                res = cur.execute("select subscriber_id, rule_id, family, severity, reason_en, reason_zh "
                                  "from warnings where customer_id = ? order by subscriber_id, rule_id", [customer_id])
                for sub, rule, family, severity, en, zh in res.fetchall():
                    rules.append({
                        "source": "rule", "id": None, "customer_id": customer_id, "subscriber_id": sub,
                        "day": cur.output_month, "reason": rule, "reason_en": en, "reason_zh": zh,
                        "family": family, "severity": severity, "detail": "", "status": mw.OPEN,
                        "raised_by": "run-month", "raised_at": None, "withdrawn_by": None, "withdrawn_at": None,
                    })
        return [r[0] for r in rows], rules

    # -- changes ------------------------------------------------------------------------------
    def raise_warning(self, principal: Principal, customer_id: str, reason: str, severity: int | str,
                      note: str | None = "", subscriber_id: str | None = None) -> dict[str, Any]:
        """Raise a warning on a customer of the caller's portfolio.

        Sending the same open warning again (same author, customer,
        subscription, reason, severity and note) returns the existing one with
        ``created`` false instead of a duplicate.
        """
        principal.require(Permission.RAISE_WARNINGS)
        req = mw.check(reason, severity, note, subscriber_id)
        subs = self.visible_subscribers(principal, customer_id)
        if req.subscriber_id is not None and req.subscriber_id not in subs:
            raise NotFound(f"customer {customer_id} has no subscription {req.subscriber_id!r}")
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            same = s.scalars(select(ManualWarning).where(
                ManualWarning.customer_id == customer_id, ManualWarning.status == mw.OPEN,
                ManualWarning.raised_by == principal.name, ManualWarning.reason == req.reason,
                ManualWarning.severity == req.severity, ManualWarning.note == req.note,
            )).all()
            same = [w for w in same if w.subscriber_id == req.subscriber_id]
            if same:
                return {**manual_row(same[0]), "created": False}
            w = ManualWarning(customer_id=customer_id, subscriber_id=req.subscriber_id, reason=req.reason,
                              family=req.family, severity=req.severity, note=req.note, status=mw.OPEN,
                              raised_by=principal.name, raised_at=self.clock())
            s.add(w)
            s.flush()
            row = manual_row(w)
            audit.record(uow, principal.name, "raise_warning", "manual_warning", str(w.id), None, row)
            uow.commit()
        return {**row, "created": True}

    def withdraw(self, principal: Principal, customer_id: str, warning_id: int) -> dict[str, Any]:
        """Withdraw a manual warning: its author, or a role allowed to withdraw warnings. Idempotent."""
        self.visible_subscribers(principal, customer_id)
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            w = s.get(ManualWarning, int(warning_id))
            if w is None or w.customer_id != customer_id:
                raise NotFound(f"customer {customer_id} has no manual warning {warning_id}")
            if w.raised_by != principal.name and not principal.can(Permission.WITHDRAW_WARNINGS):
                raise PermissionDenied(f"only {w.raised_by} or a retention manager may withdraw warning {w.id}")
            if w.status == mw.WITHDRAWN:
                return manual_row(w)
            before = manual_row(w)
            w.status, w.withdrawn_by, w.withdrawn_at = mw.WITHDRAWN, principal.name, self.clock()
            s.flush()
            row = manual_row(w)
            audit.record(uow, principal.name, "withdraw_warning", "manual_warning", str(w.id), before, row)
            uow.commit()
        return row

    # -- reading ------------------------------------------------------------------------------
    def for_customer(self, principal: Principal, customer_id: str, include_withdrawn: bool = True) -> dict[str, Any]:
        """The customer's manual, daily and monthly rule warnings in one row format, open first, newest first.

        ``severity`` keeps each source's scale: manual and daily 1 = most urgent; rule warnings
        the rule's own severity (higher = more severe), as in the customer 360 document.
        """
        subs, rules = self._visible(principal, customer_id)
        with self.uow_factory() as uow:
            s = uow.session
            assert s is not None
            q = select(ManualWarning).where(ManualWarning.customer_id == customer_id)
            if not include_withdrawn:
                q = q.where(ManualWarning.status == mw.OPEN)
            manual = [manual_row(w) for w in s.scalars(q.order_by(ManualWarning.id.desc())).all()]
        daily = self.daily_rows(subs)
        # open first, then newest day, then most urgent (stable sorts, last key first)
        rows = sorted(manual + daily, key=lambda r: int(r["severity"] or 9))
        rows.sort(key=lambda r: str(r["day"]), reverse=True)
        rows += sorted(rules, key=lambda r: -int(r["severity"] or 0))
        rows.sort(key=lambda r: r["status"] != mw.OPEN)
        return {
            "customer_id": customer_id,
            "warnings": rows,
            "open_manual": sum(1 for r in manual if r["status"] == mw.OPEN),
            "reasons": [{"code": k, "reason_en": v[0], "reason_zh": v[1], "family": v[2]}
                        for k, v in mw.REASONS.items()],
            "severities": [{"level": k, "en": v[0], "zh": v[1]} for k, v in mw.SEVERITIES.items()],
            "subscribers": subs,
        }

    def daily_rows(self, subscriber_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Daily warnings (``tenure run-day``) of these subscriptions in the newest stored months."""
        ids = list(subscriber_ids)
        months = self.warehouse.months("output", "daily_warnings")[-DAILY_MONTHS:]
        out: list[dict[str, Any]] = []
        for m in reversed(months):
            t = pq.read_table(self.warehouse.path("daily_warnings", m, "output"),
                              filters=[("subscriber_id", "in", ids)])
            for r in t.to_pylist():
                out.append({
                    "source": "daily", "id": None, "customer_id": None, "subscriber_id": r["subscriber_id"],
                    "day": _iso(r["day"]), "reason": r["reason"], "reason_en": r["reason_en"],
                    "reason_zh": r["reason_zh"], "family": r["family"], "severity": r["severity"],
                    "detail": r.get("detail") or "", "status": mw.OPEN, "raised_by": "run-day",
                    "raised_at": None, "withdrawn_by": None, "withdrawn_at": None,
                })
        out.sort(key=lambda r: (str(r["day"]), -int(r["severity"] or 9)), reverse=True)
        return out[:DAILY_LIMIT]

    def open_customers(self, customer_ids: Iterable[str] | None = None,
                       raised_until: datetime | None = None) -> dict[str, int]:
        """Customers with an open manual warning -> their most urgent severity (for planning and triggers)."""
        from tenure.services.warning_profiles import open_manual_warnings

        return open_manual_warnings(self.uow_factory, customer_ids, raised_until)
