"""Evaluate: a campaign's effect against its control group, and the programme KPIs.

Campaign effect (intention to treat): every subscriber the planner assigned
to a campaign's treatment arm in month M is "treated" — ``selected``, and
also ``over_capacity`` (won the customer but waited for channel capacity or
budget) — whether or not anyone reached them; the subscribers it held out as
``control`` for the same campaign are the comparison. The control is drawn
before capacity, so leaving the waiting customers out would compare the
highest-value part of the arm with a random control: a biased estimate. Both groups are followed 1, 2 and 3 months after
M in the later monthly snapshots. Because the control group was drawn at
random from the same targets, the difference is the campaign's causal
effect. The "contacted only" view (treated who were reached, from the work
order outcomes in the store) is shown beside it and is **not** causal: who
answers the phone is not random.

Snapshot retention (拍照保有率): the core customers of a snapshot month,
followed month by month (still on the network; still at the same or a higher
card grade). Bundling rate: the share of active subscribers holding broadband
or IPTV in a bundle, per month.

The warehouse is read with DuckDB; only a few summary numbers per group come
back to Python, whatever the size of the month.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tenure.domain.errors import InputError, NotFound
from tenure.domain.evaluation import (
    balance_check,
    compare_proportions,
    evaluation_warnings,
    incremental_customers,
    incremental_revenue,
    return_on_cost,
    welch_from_stats,
)
from tenure.domain.grades import CARD_GRADES
from tenure.domain.model import month_add, parse_month
from tenure.domain.statistics import minimum_detectable_effect
from tenure.engines.warehouse import Warehouse

HORIZONS = (1, 2, 3)
NOT_CAUSAL = "contacted only: treated who were reached, against control; not causal (who answers is not random)"


def _pq(path: Path) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    if row is None:  # an aggregate always returns a row; kept for the type checker
        raise RuntimeError(f"no row from {sql[:60]!r}")
    return row


class EvaluationService:
    """Campaign effect against control, snapshot retention and bundling rate."""

    def __init__(self, warehouse: Warehouse, uow_factory: Callable[[], Any] | None = None,
                 threads: int = 2, memory_limit: str | None = None) -> None:
        self.warehouse = warehouse
        self.uow_factory = uow_factory
        self.threads = threads
        self.memory_limit = memory_limit

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute(f"SET threads = {int(self.threads)}")
        if self.memory_limit:
            con.execute(f"SET memory_limit = '{self.memory_limit.replace(chr(39), '')}'")
        return con

    def _has(self, table: str, month: str, area: str = "input") -> bool:
        return self.warehouse.has(table, month, area)

    # -- store look-ups -------------------------------------------------------------
    def _reached(self, campaign_id: str, month: str) -> set[str] | None:
        """Treated subscribers reached at least once; ``None`` without a store or any outcome."""
        if self.uow_factory is None:
            return None
        from sqlalchemy import select

        from tenure.engines.store.campaign_models import WorkOrder, WorkOrderOutcome

        with self.uow_factory() as uow:
            worked = uow.session.execute(
                select(WorkOrder.subscriber_id, WorkOrderOutcome.reached)
                .join(WorkOrderOutcome, WorkOrderOutcome.work_order_id == WorkOrder.id)
                .where(WorkOrder.month == month, WorkOrder.campaign_id == campaign_id)
            ).all()
        if not worked:
            return None
        return {s for s, reached in worked if reached}

    def _unit_cost(self, campaign_id: str) -> float | None:
        if self.uow_factory is None:
            return None
        from tenure.services.campaigns import CampaignService

        try:
            return float(CampaignService(self.uow_factory).get(campaign_id).campaign.offer_cost)
        except (NotFound, AttributeError, KeyError):
            return None

    # -- what can be evaluated ---------------------------------------------------------
    def planned_months(self) -> list[str]:
        """Months with a plan (a ``decisions`` table), newest first."""
        return list(reversed(self.warehouse.months("output", "decisions")))

    def planned_campaigns(self, month: str) -> list[str]:
        """Campaigns with selected or control subscribers in the plan of ``month``."""
        month = parse_month(month)
        if not self._has("decisions", month, "output"):
            return []
        con = self._connect()
        try:
            rows = con.execute(f"""
                select distinct campaign_id from {_pq(self.warehouse.path('decisions', month, 'output'))}
                where decision in ('selected', 'over_capacity', 'control') and campaign_id is not null order by 1
            """).fetchall()
        finally:
            con.close()
        return [r[0] for r in rows]

    # -- campaign effect --------------------------------------------------------------
    def campaign_effect(self, campaign_id: str, month: str, alpha: float = 0.05,
                        unit_cost: float | None = None) -> dict[str, Any]:
        """Treated (everyone selected) against control for ``campaign_id`` planned in ``month``."""
        month = parse_month(month)
        if not self._has("decisions", month, "output"):
            raise NotFound(f"no plan for {month}: run tenure plan-month first")
        if not self._has("monthly_usage", month):
            raise NotFound(f"monthly_usage {month} is not loaded")
        wh = self.warehouse
        reached = self._reached(campaign_id, month)
        if unit_cost is None:
            unit_cost = self._unit_cost(campaign_id)
        con = self._connect()
        try:
            decisions = _pq(wh.path("decisions", month, "output"))
            prof0 = (f"(select subscriber_id, value_level from {_pq(wh.path('profiles', month, 'output'))})"
                     if self._has("profiles", month, "output")
                     else "(select null::varchar subscriber_id, null::int value_level where false)")
            con.execute(f"""
                create temp table base as
                select d.subscriber_id, case d.decision when 'control' then 'control' else 'treated' end grp,
                       coalesce(u.revenue, 0)::double r0, coalesce(u.mou, 0)::double m0, p.value_level v0
                from {decisions} d
                left join {_pq(wh.path('monthly_usage', month))} u using (subscriber_id)
                left join {prof0} p using (subscriber_id)
                where d.campaign_id = ? and d.decision in ('selected', 'over_capacity', 'control')
            """, [campaign_id])
            con.execute("create temp table reached (subscriber_id varchar)")
            if reached:
                con.register("reached_arrow", pa.table({"subscriber_id": sorted(reached)}))
                con.execute("insert into reached select subscriber_id from reached_arrow")
            con.execute("""
                create temp view groups as
                select * from base
                union all
                select b.subscriber_id, 'contacted' grp, b.r0, b.m0, b.v0
                from base b join reached r using (subscriber_id) where b.grp = 'treated'
            """)
            counts = dict(con.execute("select grp, count(*) from base group by grp").fetchall())
            nt, nc = int(counts.get("treated", 0)), int(counts.get("control", 0))
            if nt + nc == 0:
                raise NotFound(f"campaign {campaign_id} has no selected or control subscriber in {month}")
            balance = self._balance(con)
            horizons = []
            for h in HORIZONS:
                later = month_add(month, h)
                if not (self._has("subscribers", later) and self._has("monthly_usage", later)):
                    break
                horizons.append(self._horizon(con, later, h, alpha, unit_cost, reached))
        finally:
            con.close()
        warnings = evaluation_warnings(nt, nc, balance)
        if not horizons:
            warnings.append(f"no later month loaded after {month}: nothing to follow yet")
        return {
            "campaign_id": campaign_id, "month": month, "method": "intention to treat: selected vs control",
            "treated_n": nt, "control_n": nc,
            "contacted_n": len(reached) if reached is not None else None,
            "unit_cost": unit_cost, "alpha": alpha,
            "balance": [b.to_dict() for b in balance],
            "horizons": horizons, "warnings": warnings, "contacted_note": NOT_CAUSAL,
        }

    @staticmethod
    def _balance(con: duckdb.DuckDBPyConnection) -> list:
        feats = {"revenue": "r0", "mou": "m0", "value_level": "v0"}
        sel = ", ".join(f"avg({c}), coalesce(stddev_samp({c}), 0)" for c in feats.values())
        rows = {r[0]: r[1:] for r in con.execute(f"select grp, {sel} from base group by grp").fetchall()}
        if "treated" not in rows or "control" not in rows:
            return []
        out = {}
        for i, name in enumerate(feats):
            t, c = rows["treated"][2 * i:2 * i + 2], rows["control"][2 * i:2 * i + 2]
            if t[0] is None or c[0] is None:
                continue  # no profiles for the month: value level cannot be compared
            out[name] = (float(t[0]), float(t[1]), float(c[0]), float(c[1]))
        return balance_check(out)

    def _horizon(self, con: duckdb.DuckDBPyConnection, later: str, h: int, alpha: float,
                 unit_cost: float | None, reached: set[str] | None) -> dict[str, Any]:
        wh = self.warehouse
        has_prof = self._has("profiles", later, "output")
        prof = (f"(select subscriber_id, value_level from {_pq(wh.path('profiles', later, 'output'))})"
                if has_prof else "(select null::varchar subscriber_id, null::int value_level where false)")
        # A subscriber missing from a later snapshot has left the book: counted as churned.
        rows = con.execute(f"""
            with f as (
                select g.grp, g.v0,
                       (s.subscriber_id is null or s.status = 'churned')::int churned,
                       coalesce(u.revenue, 0)::double - g.r0 d_rev,
                       coalesce(u.mou, 0)::double - g.m0 d_mou,
                       p.value_level v1
                from groups g
                left join {_pq(wh.path('subscribers', later))} s using (subscriber_id)
                left join {_pq(wh.path('monthly_usage', later))} u using (subscriber_id)
                left join {prof} p using (subscriber_id)
            )
            select grp, count(*), sum(churned),
                   avg(d_rev), coalesce(stddev_samp(d_rev), 0), avg(d_mou), coalesce(stddev_samp(d_mou), 0),
                   count(*) filter (where churned = 0 and v0 is not null and v1 is not null),
                   count(*) filter (where churned = 0 and v1 < v0)
            from f group by grp
        """).fetchall()
        stats = {r[0]: r[1:] for r in rows}
        empty = (0, 0, 0.0, 0.0, 0.0, 0.0, 0, 0)

        def compare(a: str, b: str) -> dict[str, Any]:
            t, c = stats.get(a, empty), stats.get(b, empty)
            churn = compare_proportions("churn_rate", int(t[1] or 0), int(t[0]), int(c[1] or 0), int(c[0]), alpha)
            metrics = [churn]
            if has_prof:
                metrics.append(compare_proportions("downgrade_rate", int(t[7]), int(t[6]), int(c[7]), int(c[6]),
                                                   alpha))
            arpu = welch_from_stats("arpu_change", float(t[2] or 0), float(t[3] or 0), int(t[0]),
                                    float(c[2] or 0), float(c[3] or 0), int(c[0]), alpha)
            mou = welch_from_stats("mou_change", float(t[4] or 0), float(t[5] or 0), int(t[0]),
                                   float(c[4] or 0), float(c[5] or 0), int(c[0]), alpha)
            metrics += [arpu, mou]
            out: dict[str, Any] = {"metrics": [m.to_dict() for m in metrics]}
            if churn.treated_value is not None and churn.control_value is not None:
                out["mde"] = minimum_detectable_effect(churn.treated_n, churn.control_n, churn.control_value, alpha)
                out["incremental_customers"] = incremental_customers(churn.control_value, churn.treated_value,
                                                                     churn.treated_n)
            if arpu.difference is not None:
                out["incremental_revenue"] = incremental_revenue(arpu.difference, arpu.treated_n)
            return out

        doc: dict[str, Any] = {"horizon": h, "month": later, **compare("treated", "control")}
        if unit_cost is not None and "incremental_revenue" in doc:
            # The offer is paid for those reached when outcomes exist; else for every selected subscriber.
            paid = len(reached) if reached is not None else int(stats.get("treated", empty)[0])
            doc["cost"] = unit_cost * paid
            doc["return_on_cost"] = return_on_cost(doc["incremental_revenue"], doc["cost"])
        if reached is not None:
            doc["contacted"] = {"note": NOT_CAUSAL, **compare("contacted", "control")}
        return doc

    # -- programme KPIs ------------------------------------------------------------------
    def snapshot_retention(self, month: str, horizons: int = 12) -> dict[str, Any]:
        """Core customers of ``month`` followed month by month, plus the bundling rate by month."""
        month = parse_month(month)
        wh = self.warehouse
        if not self._has("profiles", month, "output"):
            raise NotFound(f"no profiles for {month}: run tenure run-month first")
        if horizons < 1:
            raise InputError("horizons must be at least 1")
        rank = "case card_grade " + " ".join(f"when '{g}' then {i}" for i, g in enumerate(CARD_GRADES)) + " end"
        con = self._connect()
        try:
            # The photo: core customers still on the network at the month's end (as the programme KPIs count them);
            # one who left during the month is not lost afterwards.
            gone = (f"and subscriber_id not in (select subscriber_id from {_pq(wh.path('subscribers', month))} "
                    "where status = 'churned')" if self._has("subscribers", month) else "")
            con.execute(f"""
                create temp table core as
                select subscriber_id, {rank} g0 from {_pq(wh.path('profiles', month, 'output'))}
                where is_core {gone}
            """)
            base = int(_one(con, "select count(*) from core")[0])
            follow = []
            for h in range(1, horizons + 1):
                later = month_add(month, h)
                if not self._has("subscribers", later):
                    break
                has_prof = self._has("profiles", later, "output")
                prof = (f"(select subscriber_id, {rank} g1 from {_pq(wh.path('profiles', later, 'output'))})"
                        if has_prof else "(select null::varchar subscriber_id, null::int g1 where false)")
                kept, kept_grade = _one(con, f"""
                    select count(s.subscriber_id) filter (where s.status <> 'churned'),
                           count(*) filter (where s.status <> 'churned' and p.g1 >= c.g0)
                    from core c
                    left join {_pq(wh.path('subscribers', later))} s using (subscriber_id)
                    left join {prof} p using (subscriber_id)
                """)
                follow.append({
                    "month": later, "horizon": h, "base": base, "retained": int(kept),
                    "retention_rate": kept / base if base else None,
                    "kept_grade": int(kept_grade) if has_prof else None,
                    "kept_grade_rate": (kept_grade / base if base else None) if has_prof else None,
                })
            bundling = []
            for m in [month] + [month_add(month, h) for h in range(1, horizons + 1)]:
                if not (self._has("subscribers", m) and self._has("monthly_usage", m)):
                    if m == month:
                        continue
                    break
                active, bundled = _one(con, f"""
                    select count(*), count(*) filter (where coalesce(u.bundle_broadband, false)
                                                      or coalesce(u.bundle_tv, false))
                    from {_pq(wh.path('subscribers', m))} s
                    left join {_pq(wh.path('monthly_usage', m))} u using (subscriber_id)
                    where s.status <> 'churned'
                """)
                bundling.append({"month": m, "active": int(active), "bundled": int(bundled),
                                 "bundling_rate": bundled / active if active else None})
        finally:
            con.close()
        return {"month": month, "core_customers": base, "retention": follow, "bundling": bundling}
