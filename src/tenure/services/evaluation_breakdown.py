"""Evaluate by segment, channel and executor, and find the best strategy per segment per yuan.

Every figure follows the customers of a month's plan ``h`` months later
(``h`` = 1 by default), exactly as the campaign effect does: a subscriber
missing from the later snapshot, or with status ``churned``, has churned;
"kept" is the opposite.

* **Segments** — per segment of the plan month's profiles, the treated
  (everyone selected, intention to treat) against the control of the same
  segment: churn rate, downgrade rate (value level fell, among those still on
  the network) and satisfaction (mean survey score in the later month, among
  those surveyed). Control customers are a random draw within each campaign ×
  segment × risk decile, so these differences are causal.
* **Channels** — per channel: acceptance rate of the customers reached (from
  the work-order outcomes, Wilson interval) and the kept-rate of the treated
  customers the channel served against the control **standardised** to the
  channel's campaign × segment mix. Channels are allocated by preference and
  capacity, not at random: the comparison removes the mix of customers, not
  every difference between channels.
* **Executors** (Fujian 执行人评价) — per work-order assignee: contact rate
  (orders reached of orders assigned), success rate (accepted of reached), and
  kept-rate against the control standardised to the executor's own campaign ×
  segment mix, so an account manager holding harder customers is compared
  with what those customers would have done untouched. Executors with fewer
  than ``min_sample`` orders carry a warning.
* **Strategies** — per segment and strategy (and per channel), pooled over
  every evaluated campaign and month: incremental customers kept, offer cost
  (unit cost × treated), customers kept per yuan with its interval and the
  sample size. A (strategy, segment) with at least ``min_treated`` treated and
  an interval that does not cross zero has *sufficient evidence*; its measured
  relative effect (share of the control's churn removed) is what the planner
  uses instead of the campaign's configured ``expected_effect`` (see
  :meth:`EvaluationBreakdown.measured_effects`).

Sizes: the warehouse is aggregated in DuckDB down to one row per group and
stratum; the store is read once per month for the work orders (one row per
order with its outcome flags).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tenure.domain.errors import InputError, NotFound
from tenure.domain.evaluation import compare_proportions, welch_from_stats
from tenure.domain.model import month_add, parse_month
from tenure.domain.standardisation import (
    Stratum,
    pooled_effect,
    proportion_interval,
    standardised_comparison,
)
from tenure.engines.warehouse import Warehouse
from tenure.services.evaluation import EvaluationService, _pq

MIN_TREATED = 200
"""Treated customers a (strategy, segment) needs before its measured effect replaces the configured one."""

MIN_SAMPLE = 30
"""Fewer orders than this and an executor's (or channel's) rates are flagged as too thin to judge."""

KINDS = ("segments", "channels", "executors", "strategies")
NOT_RANDOM_CHANNEL = ("channels are allocated by preference and capacity, not at random: the control is reweighted "
                      "to each channel's campaign × segment mix, other differences remain")


def check_horizon(horizon: int) -> int:
    if not 1 <= int(horizon) <= 12:
        raise InputError(f"horizon must be 1 to 12 months, got {horizon}")
    return int(horizon)


class EvaluationBreakdown(EvaluationService):
    """Segment, channel, executor and strategy evaluation of the months' plans."""

    def __init__(self, warehouse: Warehouse, uow_factory: Callable[[], Any] | None = None, threads: int = 2,
                 memory_limit: str | None = None, alpha: float = 0.05, min_sample: int = MIN_SAMPLE,
                 min_treated: int = MIN_TREATED) -> None:
        super().__init__(warehouse, uow_factory, threads, memory_limit)
        self.alpha = alpha
        self.min_sample = min_sample
        self.min_treated = min_treated

    # -- store look-ups -------------------------------------------------------------
    def _work_orders(self, month: str) -> pa.Table:
        """One row per (subscriber, campaign) work order of ``month`` with assignee and outcome flags."""
        schema = pa.schema([("subscriber_id", pa.string()), ("campaign_id", pa.string()),
                            ("assignee_id", pa.int64()), ("reached", pa.bool_()), ("accepted", pa.bool_())])
        if self.uow_factory is None:
            return schema.empty_table()
        from sqlalchemy import select

        from tenure.engines.store.campaign_models import WorkOrder, WorkOrderOutcome

        with self.uow_factory() as uow:
            orders = uow.session.execute(
                select(WorkOrder.id, WorkOrder.subscriber_id, WorkOrder.campaign_id, WorkOrder.assignee_id)
                .where(WorkOrder.month == month)).all()
            attempts = uow.session.execute(
                select(WorkOrderOutcome.work_order_id, WorkOrderOutcome.reached, WorkOrderOutcome.response,
                       WorkOrderOutcome.contact_date, WorkOrderOutcome.attempt)
                .join(WorkOrder, WorkOrder.id == WorkOrderOutcome.work_order_id)
                .where(WorkOrder.month == month)).all()
        last_answer: dict[int, tuple] = {}
        reached: set[int] = set()
        for oid, was_reached, response, day, attempt in attempts:
            if was_reached:
                reached.add(oid)
                key = (day, attempt)
                if oid not in last_answer or key >= last_answer[oid][0]:
                    last_answer[oid] = (key, response)
        rows = [(s, c, a, oid in reached, last_answer.get(oid, (None, None))[1] == "accepted")
                for oid, s, c, a in orders]
        return pa.table([pa.array([r[i] for r in rows], t) for i, t in enumerate(schema.types)], schema=schema)

    def _user_names(self) -> dict[int, str]:
        if self.uow_factory is None:
            return {}
        with self.uow_factory() as uow:
            return {u.id: u.name for u in uow.users.list()}

    def _campaign_info(self, campaign_ids: Iterable[str]) -> dict[str, tuple[str, float | None]]:
        """``{campaign_id: (strategy, unit cost)}`` from the store; unknown campaigns get ``("-", None)``."""
        out: dict[str, tuple[str, float | None]] = {c: ("-", None) for c in campaign_ids}
        if self.uow_factory is None:
            return out
        from tenure.services.campaigns import CampaignService

        svc = CampaignService(self.uow_factory)
        for cid in out:
            try:
                c = svc.get(cid).campaign
            except NotFound:
                continue
            try:
                cost: float | None = float(c.offer_cost)
            except (KeyError, ValueError, AttributeError):
                cost = None
            out[cid] = (c.strategy, cost)
        return out

    # -- the followed plan ------------------------------------------------------------------
    def _columns(self, con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
        return {r[0] for r in con.execute(f"describe select * from {_pq(path)}").fetchall()}

    def _check(self, month: str, horizon: int) -> tuple[str, str]:
        month = parse_month(month)
        horizon = check_horizon(horizon)
        if not self._has("decisions", month, "output"):
            raise NotFound(f"no plan for {month}: run tenure plan-month first")
        later = month_add(month, horizon)
        if not self._has("subscribers", later):
            raise NotFound(f"subscribers {later} ({horizon} month(s) after {month}) are not loaded: nothing to follow")
        return month, later

    def _follow(self, con: duckdb.DuckDBPyConnection, month: str, later: str, table: str = "f") -> None:
        """Temp table ``table``: one row per treated or control (subscriber, campaign) of ``month``'s plan.

        Columns: subscriber_id, campaign_id, grp, channel (selected only), segment_id, churned (0/1),
        downgraded (0/1, null when not comparable), satisfaction (mean score, null when not surveyed).
        """
        wh = self.warehouse
        if self._has("profiles", month, "output"):
            p0 = wh.path("profiles", month, "output")
            seg = "coalesce(segment_id::varchar, '-')" if "segment_id" in self._columns(con, p0) else "'-'"
            lvl = "value_level" if "value_level" in self._columns(con, p0) else "null::int"
            prof0 = f"(select subscriber_id, {seg} segment_id, {lvl} v0 from {_pq(p0)})"
        else:
            prof0 = "(select null::varchar subscriber_id, '-' segment_id, null::int v0 where false)"
        if self._has("profiles", later, "output"):
            prof1 = f"(select subscriber_id, value_level v1 from {_pq(wh.path('profiles', later, 'output'))})"
        else:
            prof1 = "(select null::varchar subscriber_id, null::int v1 where false)"
        if self._has("satisfaction_surveys", later):
            surveys = (f"(select subscriber_id, avg(score)::double score "
                       f"from {_pq(wh.path('satisfaction_surveys', later))} group by subscriber_id)")
        else:
            surveys = "(select null::varchar subscriber_id, null::double score where false)"
        con.execute(f"""
            create or replace temp table {table} as
            with d as (
                select subscriber_id, campaign_id,
                       case decision when 'control' then 'control' else 'treated' end grp,
                       case when decision = 'selected' then channel end channel
                from {_pq(wh.path('decisions', month, 'output'))}
                where decision in ('selected', 'over_capacity', 'control') and campaign_id is not null
            ), j as (
                select d.*, coalesce(p0.segment_id, '-') segment_id, p0.v0, p1.v1, q.score satisfaction,
                       (s.subscriber_id is null or s.status = 'churned')::int churned
                from d
                left join {prof0} p0 using (subscriber_id)
                left join {_pq(wh.path('subscribers', later))} s using (subscriber_id)
                left join {prof1} p1 using (subscriber_id)
                left join {surveys} q using (subscriber_id)
            )
            select subscriber_id, campaign_id, grp, channel, segment_id, churned,
                   case when churned = 0 and v0 is not null and v1 is not null then (v1 < v0)::int end downgraded,
                   case when churned = 0 then satisfaction end satisfaction
            from j
        """)

    def _strata(self, con: duckdb.DuckDBPyConnection, group_sql: str, table: str = "f",
                where: str = "true") -> dict[Any, tuple[list[Stratum], tuple[int, int]]]:
        """Kept-rate strata (campaign × segment) per group, and the raw control of the group's campaigns.

        ``{group: ([Stratum(kept, n, control kept, control n)], (control kept, control n))}``; the raw
        control is every control customer of the campaigns the group served, whatever their segment:
        what a naive report would compare with. ``group_sql`` is an expression over the treated rows of
        ``table`` (aliased ``t``), e.g. ``t.channel``.
        """
        rows = con.execute(f"""
            with c as (
                select campaign_id, segment_id, count(*) n, sum(1 - churned) kept
                from {table} where grp = 'control' group by all
            ), t as (select * from {table} t where grp = 'treated' and {where})
            select {group_sql} g, t.campaign_id, t.segment_id, count(*), sum(1 - t.churned),
                   coalesce(max(c.kept), 0), coalesce(max(c.n), 0)
            from t left join c on c.campaign_id = t.campaign_id and c.segment_id = t.segment_id
            where {group_sql} is not null
            group by all order by 1, 2, 3
        """).fetchall()
        per_campaign = {r[0]: (int(r[1]), int(r[2])) for r in con.execute(
            f"select campaign_id, sum(1 - churned), count(*) from {table} where grp = 'control' group by 1").fetchall()}
        out: dict[Any, tuple[list[Stratum], tuple[int, int]]] = {}
        seen: dict[Any, set[str]] = {}
        for g, cid, _s, n, kept, c_kept, c_n in rows:
            strata, raw = out.get(g, ([], (0, 0)))
            strata.append(Stratum(int(kept), int(n), int(c_kept), int(c_n)))
            if cid not in seen.setdefault(g, set()):
                seen[g].add(cid)
                e, m = per_campaign.get(cid, (0, 0))
                raw = (raw[0] + e, raw[1] + m)
            out[g] = (strata, raw)
        return out

    # -- 1. segments -------------------------------------------------------------------
    def segments(self, month: str, horizon: int = 1) -> dict[str, Any]:
        """Churn, downgrade and satisfaction of treated against control, per segment of ``month``'s plan."""
        month, later = self._check(month, horizon)
        a = self.alpha
        con = self._connect()
        try:
            self._follow(con, month, later)
            rows = con.execute("""
                select segment_id, grp, count(*), sum(churned), count(downgraded), coalesce(sum(downgraded), 0),
                       count(satisfaction), avg(satisfaction), coalesce(stddev_samp(satisfaction), 0)
                from f group by all order by 1, 2
            """).fetchall()
        finally:
            con.close()
        by: dict[str, dict[str, tuple]] = {}
        for seg, grp, *stats in rows:
            by.setdefault(seg, {})[grp] = tuple(stats)
        empty = (0, 0, 0, 0, 0, None, 0.0)
        out = []
        for seg, groups in by.items():
            t, c = groups.get("treated", empty), groups.get("control", empty)
            metrics = [
                compare_proportions("churn_rate", int(t[1]), int(t[0]), int(c[1]), int(c[0]), a).to_dict(),
                compare_proportions("downgrade_rate", int(t[3]), int(t[2]), int(c[3]), int(c[2]), a).to_dict(),
            ]
            if t[4] or c[4]:
                metrics.append(welch_from_stats("satisfaction", float(t[5] or 0), float(t[6] or 0), int(t[4]),
                                                float(c[5] or 0), float(c[6] or 0), int(c[4]), a).to_dict())
            warnings = []
            if int(c[0]) < self.min_sample:
                warnings.append(f"small control group ({int(c[0])} < {self.min_sample}): intervals are wide")
            out.append({"segment_id": seg, "treated_n": int(t[0]), "control_n": int(c[0]), "metrics": metrics,
                        "warnings": warnings})
        return {"kind": "segments", "month": month, "horizon": horizon, "followed_month": later, "alpha": a,
                "method": "intention to treat: selected vs control within each segment", "rows": out}

    # -- 2. channels -------------------------------------------------------------------
    def channels(self, month: str, horizon: int = 1) -> dict[str, Any]:
        """Acceptance (of reached) and kept-rate against the standardised control, per channel."""
        month, later = self._check(month, horizon)
        orders = self._work_orders(month)
        con = self._connect()
        try:
            self._follow(con, month, later)
            con.register("wo", orders)
            strata = self._strata(con, "t.channel")
            contact = {r[0]: r[1:] for r in con.execute("""
                select f.channel, count(*), count(w.subscriber_id), count(*) filter (where w.reached),
                       count(*) filter (where w.accepted)
                from f left join wo w using (subscriber_id, campaign_id)
                where f.grp = 'treated' and f.channel is not null group by 1
            """).fetchall()}
        finally:
            con.close()
        out = []
        for ch in sorted(set(contact) | set(strata)):
            n, ordered, reached, accepted = (int(v) for v in contact.get(ch, (0, 0, 0, 0)))
            kept = standardised_comparison("kept_rate", *strata.get(ch, ([], (0, 0))), alpha=self.alpha)
            acc, lo, hi = proportion_interval(accepted, reached, self.alpha)
            warnings = []
            if reached < self.min_sample:
                warnings.append(f"fewer than {self.min_sample} customers reached ({reached}): acceptance is uncertain")
            if kept.unmatched_n:
                warnings.append(f"{kept.unmatched_n} treated customers have no control in their campaign × segment")
            out.append({"channel": ch, "selected_n": n, "work_orders": ordered, "reached_n": reached,
                        "accepted_n": accepted, "acceptance_rate": acc, "acceptance_ci_low": lo,
                        "acceptance_ci_high": hi, "kept": kept.to_dict(), "warnings": warnings})
        return {"kind": "channels", "month": month, "horizon": horizon, "followed_month": later, "alpha": self.alpha,
                "method": "kept-rate of the channel's treated vs control standardised to its campaign × segment mix",
                "note": NOT_RANDOM_CHANNEL, "rows": out}

    # -- 3. executors ------------------------------------------------------------------
    def executors(self, month: str, horizon: int = 1, assignee_id: int | None = None) -> dict[str, Any]:
        """Per work-order assignee: contact rate, success rate, and kept-rate against the fair control.

        ``assignee_id`` restricts the answer to one executor (an account manager sees only their own row);
        the control is the whole month's control either way.
        """
        month, later = self._check(month, horizon)
        orders = self._work_orders(month)
        names = self._user_names()
        con = self._connect()
        try:
            self._follow(con, month, later)
            con.register("wo", orders)
            con.execute("""
                create temp table fw as
                select f.*, w.assignee_id, w.reached, w.accepted
                from f left join (select subscriber_id, campaign_id, any_value(assignee_id) assignee_id,
                                         bool_or(reached) reached, bool_or(accepted) accepted
                                  from wo where assignee_id is not null group by 1, 2) w
                using (subscriber_id, campaign_id)
            """)
            where = "true" if assignee_id is None else f"t.assignee_id = {int(assignee_id)}"
            strata = self._strata(con, "t.assignee_id", table="fw", where=where)
            contact = {r[0]: r[1:] for r in con.execute(f"""
                select t.assignee_id, count(*), count(*) filter (where t.reached), count(*) filter (where t.accepted)
                from fw t where t.grp = 'treated' and t.assignee_id is not null and {where} group by 1
            """).fetchall()}
        finally:
            con.close()
        out = []
        for uid in sorted(contact, key=lambda u: (names.get(u, ""), u)):
            n, reached, accepted = (int(v) for v in contact[uid])
            kept = standardised_comparison("kept_rate", *strata.get(uid, ([], (0, 0))), alpha=self.alpha)
            cr, cr_lo, cr_hi = proportion_interval(reached, n, self.alpha)
            sr, sr_lo, sr_hi = proportion_interval(accepted, reached, self.alpha)
            warnings = []
            if n < self.min_sample:
                warnings.append(f"only {n} customers (< {self.min_sample}): too few to judge this executor")
            if kept.unmatched_n:
                warnings.append(f"{kept.unmatched_n} customers have no control in their campaign × segment")
            out.append({"assignee_id": uid, "executor": names.get(uid, f"user {uid}"), "orders": n,
                        "reached_n": reached, "accepted_n": accepted,
                        "contact_rate": cr, "contact_ci_low": cr_lo, "contact_ci_high": cr_hi,
                        "success_rate": sr, "success_ci_low": sr_lo, "success_ci_high": sr_hi,
                        "kept": kept.to_dict(), "warnings": warnings})
        return {"kind": "executors", "month": month, "horizon": horizon, "followed_month": later, "alpha": self.alpha,
                "method": "kept-rate of the executor's customers vs control standardised to their campaign × "
                          "segment mix (direct standardisation); raw = every control customer of the same campaigns",
                "min_sample": self.min_sample, "rows": out}

    # -- 4. strategies -------------------------------------------------------------------
    def evaluable_months(self, horizon: int = 1, before: str | None = None) -> list[str]:
        """Planned months whose customers can be followed ``horizon`` months on (oldest first)."""
        months = sorted(self.warehouse.months("output", "decisions"))
        if before is not None:
            before = parse_month(before)
            months = [m for m in months if m < before and month_add(m, horizon) <= before]
        return [m for m in months if self._has("subscribers", month_add(m, horizon))]

    def strategies(self, month: str | None = None, horizon: int = 1, before: str | None = None) -> dict[str, Any]:
        """Per segment, strategies (and strategy × channel) ranked by customers kept per yuan.

        ``month`` evaluates one planned month; without it, every evaluable month (those before
        ``before`` when given) is pooled.
        """
        horizon = check_horizon(horizon)
        if month is not None:
            month, _ = self._check(month, horizon)
            months = [month]
        else:
            months = self.evaluable_months(horizon, before)
        # (campaign, segment, channel or None) -> list of (month, Stratum); channel None = the whole arm (ITT)
        cells: list[tuple[str, str, str | None, Stratum]] = []
        con = self._connect()
        try:
            for m in months:
                self._follow(con, m, month_add(m, horizon))
                rows = con.execute("""
                    with c as (select campaign_id, segment_id, count(*) n, sum(churned) e
                               from f where grp = 'control' group by all),
                    t as (select campaign_id, segment_id, null::varchar channel, count(*) n, sum(churned) e
                          from f where grp = 'treated' group by all
                          union all
                          select campaign_id, segment_id, channel, count(*) n, sum(churned) e
                          from f where grp = 'treated' and channel is not null group by all)
                    select t.campaign_id, t.segment_id, t.channel, t.e, t.n, coalesce(c.e, 0), coalesce(c.n, 0)
                    from t left join c using (campaign_id, segment_id)
                """).fetchall()
                cells += [(cid, seg, ch, Stratum(int(e), int(n), int(ce), int(cn)))
                          for cid, seg, ch, e, n, ce, cn in rows]
        finally:
            con.close()
        info = self._campaign_info(sorted({c[0] for c in cells}))
        groups: dict[tuple[str, str, str | None], list[tuple[Stratum, float | None]]] = {}
        for cid, seg, ch, s in cells:
            strategy, cost = info[cid]
            groups.setdefault((seg, strategy, ch), []).append((s, cost))
        out = []
        for (seg, strategy, ch), strata in groups.items():
            e = pooled_effect(strata, self.alpha)
            evidence = self._evidence(e)
            out.append({"segment_id": seg, "strategy": strategy, "channel": ch,
                        "campaigns": sorted({cid for cid, s2, c2, _ in cells
                                             if s2 == seg and c2 == ch and info[cid][0] == strategy}),
                        **e.to_dict(), "evidence": evidence, "sufficient": evidence == "sufficient"})
        out.sort(key=lambda r: (r["segment_id"], r["channel"] is not None,
                                -(r["kept_per_yuan"] if r["kept_per_yuan"] is not None else float("-inf")),
                                r["strategy"], r["channel"] or ""))
        best: dict[str, dict[str, Any]] = {}
        for r in out:
            if r["channel"] is None and r["sufficient"] and (r["kept_per_yuan"] or 0) > 0:
                best.setdefault(r["segment_id"], {"strategy": r["strategy"], "kept_per_yuan": r["kept_per_yuan"]})
        return {"kind": "strategies", "months": months, "horizon": horizon, "alpha": self.alpha,
                "min_treated": self.min_treated,
                "method": "customers kept = Σ (control churn − treated churn) × treated over campaign × segment × "
                          "month; cost = offer unit cost × treated (intention to treat); channel rows compare the "
                          "channel's treated with the same strata's control (channels are not randomised)",
                "rows": out, "best": best}

    def _evidence(self, e: Any) -> str:
        if e.treated_n < self.min_treated:
            return f"too few treated ({e.treated_n} < {self.min_treated})"
        if not e.significant:
            return "interval crosses zero"
        return "sufficient"

    def measured_effects(self, before: str, horizon: int = 1) -> dict[tuple[str, str], dict[str, Any]]:
        """``{(strategy, segment): evidence row}`` with sufficient evidence, from plans before month ``before``.

        ``effect`` is the row's relative effect (share of the control's churn removed) clipped to
        0..1, the unit of a campaign's ``expected_effect``; a harmful measured effect becomes 0.
        """
        doc = self.strategies(horizon=horizon, before=before)
        out = {}
        for r in doc["rows"]:
            if r["channel"] is None and r["sufficient"] and r["strategy"] != "-" and r["relative_effect"] is not None:
                out[(r["strategy"], r["segment_id"])] = {
                    **r, "effect": min(1.0, max(0.0, float(r["relative_effect"]))), "months": doc["months"]}
        return out

    # -- dispatch and export ------------------------------------------------------------------
    def breakdown(self, kind: str, month: str | None, horizon: int = 1,
                  assignee_id: int | None = None) -> dict[str, Any]:
        """One of :data:`KINDS` for ``month`` (strategies: ``None`` pools every evaluable month)."""
        if kind not in KINDS:
            raise InputError(f"unknown evaluation {kind!r}; one of {', '.join(KINDS)}")
        if kind == "strategies":
            return self.strategies(month, horizon)
        if month is None:
            raise InputError(f"{kind}: a month is required")
        if kind == "executors":
            return self.executors(month, horizon, assignee_id)
        return getattr(self, kind)(month, horizon)  # type: ignore[no-any-return]


def flat_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of a breakdown as flat records (nested comparisons become ``metric.field`` columns)."""
    out = []
    for r in doc["rows"]:
        flat: dict[str, Any] = {}
        for k, v in r.items():
            if k == "metrics":
                for m in v:
                    for f in ("treated_n", "treated_value", "control_n", "control_value", "difference", "ci_low",
                              "ci_high", "p_value"):
                        flat[f"{m['metric']}.{f}"] = m[f]
            elif isinstance(v, dict):
                for f, x in v.items():
                    if f not in ("metric", "kind"):
                        flat[f"{k}.{f}"] = x
            elif isinstance(v, list):
                flat[k] = "; ".join(str(x) for x in v)
            else:
                flat[k] = v
        out.append(flat)
    return out


def write_xlsx(doc: dict[str, Any], path: Path | str) -> None:
    """A breakdown as an Excel workbook: one sheet of flat rows, one of how it was computed."""
    from openpyxl import Workbook

    rows = flat_rows(doc)
    wb = Workbook()
    ws = wb.active
    ws.title = doc["kind"]
    head: list[str] = []
    for r in rows:
        head += [k for k in r if k not in head]
    ws.append(head)
    for r in rows:
        ws.append([r.get(h) for h in head])
    about = wb.create_sheet("method")
    for key in ("kind", "month", "months", "horizon", "followed_month", "alpha", "method", "note", "min_sample",
                "min_treated"):
        if key in doc:
            v = doc[key]
            about.append([key, ", ".join(v) if isinstance(v, list) else v])
    wb.save(path)
