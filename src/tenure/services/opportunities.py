"""Opportunities (商机): discovery from data, development application and plan,
stages to won or lost, pipeline forecast, project evaluation (NPV, ROI, IRR).

Numbers on other networks are not in our data, so discovery looks at what is:
(a) groups whose members spend on other operators' IP calls or call other
operators' customer service (from the monthly ``features``), and (b)
enterprise customers without a group agreement in force.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq

from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.domain.finance import evaluate_project
from tenure.engines.store.enterprise_models import Opportunity
from tenure.engines.store.enterprise_repositories import OpportunityRepository
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.engines.warehouse import Warehouse
from tenure.services import audit
from tenure.services.auth import Principal
from tenure.services.key_accounts import Clock, actor_name, aware, check_visible, portfolio, utc_now

STAGES = ("discovered", "application", "plan", "won", "lost")
OPEN_STAGES = ("discovered", "application", "plan")
# Chance that an opportunity at this stage is won; the forecast weights expected value by it.
STAGE_PROBABILITY: dict[str, Decimal] = {
    "discovered": Decimal("0.10"), "application": Decimal("0.30"), "plan": Decimal("0.60"),
    "won": Decimal(1), "lost": Decimal(0),
}
NEXT = {"discovered": {"application", "lost"}, "application": {"plan", "lost"}, "plan": {"won", "lost"},
        "won": set(), "lost": set()}


@dataclass(frozen=True)
class DiscoveryThresholds:
    """A group qualifies when its members together pass either threshold (3-month figures)."""

    other_op_ip_spend: float = 100.0
    """Yuan a month on other operators' IP calls (average of 3 months, summed over members)."""
    other_op_cs_calls: int = 3
    """Calls to other operators' customer service in 3 months, summed over members."""


def _money(value: Decimal | str | float) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise InputError(f"{value!r} is not an amount") from None
    if amount < 0:
        raise InputError(f"amount must not be negative, got {amount}")
    return amount


def opportunity_view(o: Opportunity) -> dict[str, Any]:
    return {
        "id": o.id, "source": o.source, "customer_id": o.customer_id, "group_id": o.group_id, "title": o.title,
        "stage": o.stage, "probability": STAGE_PROBABILITY[o.stage], "expected_value": Decimal(o.expected_value),
        "weighted_value": (Decimal(o.expected_value) * STAGE_PROBABILITY[o.stage]).quantize(Decimal("0.01")),
        "expected_close": o.expected_close, "application": o.application, "plan": o.plan,
        "cash_flows": o.cash_flows, "discount_rate": o.discount_rate, "periods_per_year": o.periods_per_year,
        "evaluation": o.evaluation, "evidence": o.evidence, "owner": o.owner,
        "created_at": aware(o.created_at), "updated_at": aware(o.updated_at), "closed_at": aware(o.closed_at),
    }


class OpportunityService:
    """Discover, develop and evaluate opportunities."""

    def __init__(self, uow: UnitOfWorkFactory, warehouse: Warehouse | None = None,
                 thresholds: DiscoveryThresholds | None = None, clock: Clock = utc_now) -> None:
        self.uow = uow
        self.warehouse = warehouse
        self.thresholds = thresholds or DiscoveryThresholds()
        self.clock = clock

    # -- discovery ----------------------------------------------------------------------
    def candidates(self, month: str) -> list[dict[str, Any]]:
        """Opportunities the data of ``month`` suggests (nothing is written)."""
        wh = self.warehouse
        if wh is None or not wh.has("enterprise_groups", month):
            return []
        groups = wh.read_arrow("enterprise_groups", month).to_pylist()
        out: list[dict[str, Any]] = []
        if wh.has("group_members", month) and wh.has("features", month, "output"):
            members = wh.read_arrow("group_members", month, columns=["group_id", "subscriber_id"]).to_pylist()
            cols = ["subscriber_id", "other_op_ip_spend_avg3", "other_op_cs_calls_3m"]
            # Features cover every subscriber; read only the group members' rows.
            ids = sorted({m["subscriber_id"] for m in members}) or [""]
            feats = {r["subscriber_id"]: r for r in pq.read_table(
                wh.path("features", month, "output"), columns=cols,
                filters=[("subscriber_id", "in", ids)]).to_pylist()}
            ip: dict[str, float] = defaultdict(float)
            cs: dict[str, int] = defaultdict(int)
            for m in members:
                f = feats.get(m["subscriber_id"])
                if f is not None:
                    ip[m["group_id"]] += float(f["other_op_ip_spend_avg3"] or 0)
                    cs[m["group_id"]] += int(f["other_op_cs_calls_3m"] or 0)
            t = self.thresholds
            for g in groups:
                gid = g["group_id"]
                if ip[gid] >= t.other_op_ip_spend or cs[gid] >= t.other_op_cs_calls:
                    out.append({
                        "discovery_key": f"competitor_usage|{gid}|{month}", "source": "competitor_usage",
                        "customer_id": g["customer_id"], "group_id": gid, "owner": g.get("account_manager") or "",
                        "title": f"{g['name']}: members use other operators",
                        # A year of the IP spend that goes elsewhere is what could be won back.
                        "expected_value": _money(round(ip[gid] * 12, 2)),
                        "evidence": {"month": month, "other_op_ip_spend_avg3": round(ip[gid], 2),
                                     "other_op_cs_calls_3m": cs[gid]},
                    })
        out.extend(self._without_agreement(month, groups))
        return out

    def _without_agreement(self, month: str, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        wh = self.warehouse
        assert wh is not None
        if not wh.has("customers", month):
            return []
        year, mon = int(month[:4]), int(month[5:])
        month_end = date(year + mon // 12, mon % 12 + 1, 1)
        covered: set[str] = set()
        if wh.has("agreements", month):
            for a in wh.read_arrow("agreements", month).to_pylist():
                if a["kind"] == "group_agreement" and a["start_date"] < month_end and a["end_date"] >= month_end:
                    covered.add(a["customer_id"])
        group_of = {g["customer_id"]: g for g in groups}
        customers = wh.read_arrow("customers", month, columns=["customer_id", "customer_type", "name"]).to_pylist()
        out = []
        for c in customers:
            cid = c["customer_id"]
            if c["customer_type"] != "enterprise" or cid in covered:
                continue
            g = group_of.get(cid)
            out.append({
                "discovery_key": f"no_group_agreement|{cid}", "source": "no_group_agreement", "customer_id": cid,
                "group_id": g["group_id"] if g else None, "owner": (g or {}).get("account_manager") or "",
                "title": f"{c['name']}: no group agreement", "expected_value": Decimal("0.00"),
                "evidence": {"month": month},
            })
        return out

    def discover(self, principal: Principal | None, month: str) -> dict[str, int]:
        """Record the candidates of ``month`` that are not recorded yet (a rerun adds nothing)."""
        found = self.candidates(month)
        now = self.clock()
        with self.uow() as uow:
            assert uow.session is not None
            repo = OpportunityRepository(uow.session)
            known = repo.discovery_keys()
            new = [c for c in found if c["discovery_key"] not in known]
            for c in new:
                repo.add(Opportunity(stage="discovered", created_at=now, updated_at=now, application="", plan="",
                                     periods_per_year=1, **c))
            if new:
                audit.record(uow, actor_name(principal), "discover_opportunities", "opportunity", month, None,
                             {"found": len(found), "added": len(new)})
            uow.commit()
        return {"found": len(found), "added": len(new)}

    # -- development ----------------------------------------------------------------------
    def create(self, principal: Principal | None, *, customer_id: str, title: str,
               expected_value: Decimal | str | float = 0, group_id: str | None = None,
               expected_close: date | None = None) -> dict[str, Any]:
        check_visible(principal, customer_id, f"customer {customer_id}")
        if not title.strip():
            raise InputError("an opportunity needs a title")
        now = self.clock()
        with self.uow() as uow:
            assert uow.session is not None
            o = OpportunityRepository(uow.session).add(Opportunity(
                source="manual", customer_id=customer_id, group_id=group_id, title=title.strip(), stage="discovered",
                expected_value=_money(expected_value), expected_close=expected_close, application="", plan="",
                periods_per_year=1, owner=actor_name(principal), created_at=now, updated_at=now,
            ))
            view = opportunity_view(o)
            audit.record(uow, actor_name(principal), "create_opportunity", "opportunity", str(o.id), None, view)
            uow.commit()
            return view

    def _change(self, principal: Principal | None, opportunity_id: int, stage: str, **fields: Any) -> dict[str, Any]:
        with self.uow() as uow:
            assert uow.session is not None
            o = OpportunityRepository(uow.session).get(opportunity_id, portfolio(principal))
            if o is None:
                raise NotFound(f"no opportunity {opportunity_id}")
            if stage not in NEXT[o.stage]:
                raise Conflict(f"opportunity {opportunity_id} is at {o.stage}; it cannot move to {stage}")
            before = {"stage": o.stage}
            for k, v in fields.items():
                setattr(o, k, v)
            o.stage, o.updated_at = stage, self.clock()
            if stage in ("won", "lost"):
                o.closed_at = o.updated_at
            view = opportunity_view(o)
            audit.record(uow, actor_name(principal), f"opportunity_{stage}", "opportunity", str(o.id), before,
                         {"stage": stage, **{k: v for k, v in fields.items() if k != "evaluation"}})
            uow.commit()
            return view

    def apply(self, principal: Principal | None, opportunity_id: int, *, application: str,
              expected_value: Decimal | str | float, expected_close: date) -> dict[str, Any]:
        """The development application: why, how much, by when."""
        if not application.strip():
            raise InputError("the application needs a text")
        return self._change(principal, opportunity_id, "application", application=application.strip(),
                            expected_value=_money(expected_value), expected_close=expected_close)

    def plan(self, principal: Principal | None, opportunity_id: int, *, plan: str, cash_flows: list[float],
             discount_rate: float, periods_per_year: int = 1) -> dict[str, Any]:
        """The development plan with its cash flows; evaluated by NPV, ROI and IRR."""
        if not plan.strip():
            raise InputError("the plan needs a text")
        if periods_per_year not in (1, 4, 12):
            raise InputError("periods per year must be 1, 4 or 12")
        # Money to the cent: the plan is in yuan, and it keeps the root finding on sane numbers.
        flows = [round(float(x), 2) for x in cash_flows]
        try:
            evaluation = evaluate_project(flows, discount_rate, periods_per_year)
        except (ArithmeticError, ValueError) as exc:
            reason = str(exc) or type(exc).__name__
            raise InputError(f"the plan's cash flows cannot be evaluated at that rate: {reason}") from None
        return self._change(principal, opportunity_id, "plan", plan=plan.strip(),
                            cash_flows=flows, discount_rate=float(discount_rate),
                            periods_per_year=periods_per_year,
                            evaluation=json.loads(json.dumps(evaluation.to_dict(), default=str)))

    def close(self, principal: Principal | None, opportunity_id: int, won: bool) -> dict[str, Any]:
        return self._change(principal, opportunity_id, "won" if won else "lost")

    # -- reading ----------------------------------------------------------------------------
    def get(self, principal: Principal | None, opportunity_id: int) -> dict[str, Any]:
        with self.uow() as uow:
            assert uow.session is not None
            o = OpportunityRepository(uow.session).get(opportunity_id, portfolio(principal))
            if o is None:
                raise NotFound(f"no opportunity {opportunity_id}")
            return opportunity_view(o)

    def list(self, principal: Principal | None, stage: str | None = None) -> list[dict[str, Any]]:
        with self.uow() as uow:
            assert uow.session is not None
            return [opportunity_view(o) for o in OpportunityRepository(uow.session).list(portfolio(principal), stage)]

    def forecast(self, principal: Principal | None) -> dict[str, Any]:
        """Expected and weighted value (expected value x stage probability) by month of expected close.

        Open and won opportunities count; lost ones do not. Opportunities without a
        close date are in the month ``"unscheduled"``. Months add up to the total.
        """
        months: dict[str, dict[str, Any]] = {}
        for o in self.list(principal):
            if o["stage"] == "lost":
                continue
            key = o["expected_close"].strftime("%Y-%m") if o["expected_close"] else "unscheduled"
            m = months.setdefault(key, {"month": key, "opportunities": 0, "expected_value": Decimal("0.00"),
                                        "weighted_value": Decimal("0.00")})
            m["opportunities"] += 1
            m["expected_value"] += o["expected_value"]
            m["weighted_value"] += o["weighted_value"]
        lines = [months[k] for k in sorted(months)]
        return {"months": lines,
                "total": {"opportunities": sum(x["opportunities"] for x in lines),
                          "expected_value": sum((x["expected_value"] for x in lines), Decimal("0.00")),
                          "weighted_value": sum((x["weighted_value"] for x in lines), Decimal("0.00"))},
                "stage_probability": STAGE_PROBABILITY}
