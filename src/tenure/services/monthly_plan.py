"""`tenure plan-month`: plan a month of retention contacts and store the plan.

Reads the month's ``profiles`` (joined with its ``features`` so campaign
target filters can use any feature), the approved and running campaigns,
the contact policy and channel capacity (``capacity.yaml``), the contact
history and the do-not-disturb and opt-out lists; runs the planner; writes
one decision record per considered subscriber to the warehouse output area
(table ``decisions``) and one work order per selected subscriber to the
store. Re-planning a month replaces its plan: orders nobody has worked yet
are replaced, orders with a recorded outcome are kept as they are.

A subscriber has at most one work order a month (a unique key in the store).
When a real-time trigger created one first, it stays (a re-plan never
deletes a trigger's order) and the plan's ``selected`` decision for that
subscriber becomes ``lost_arbitration`` with the trigger named in the
reason; a trigger firing after the plan is suppressed the same way on its
side. The decisions are written after the orders commit, so they say what
the store holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import yaml

import tenure
from tenure.analytics.features import still_on_the_network
from tenure.analytics.planning import ContactHistory, month_bounds
from tenure.domain.campaigns import STAFF_CHANNELS, Campaign
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.domain.errors import ConfigurationError, InputError, NotFound
from tenure.domain.model import parse_month
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.engines.warehouse import Warehouse
from tenure.services import audit
from tenure.services.campaigns import CampaignService
from tenure.services.planning import plan_month

SHIPPED_CAPACITY = Path(tenure.__file__).parent / "config" / "capacity.yaml"
ASSIGNED_CHANNELS: tuple[str, ...] = ("account_manager", "community_manager")
"""Channels whose orders go to one person's queue, chosen by portfolio."""


@dataclass(frozen=True)
class PlanConfig:
    policy: ContactPolicy
    capacity: ChannelCapacity
    due_days: int = 10
    measured_effects: bool = True  # use effects measured on earlier campaigns once the evidence suffices
    measured_min_treated: int = 200
    measured_horizon: int = 1


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merge(base.get(k), v) for k, v in override.items()}}
    return override


def load_plan_config(home: Path) -> PlanConfig:
    """Policy and capacity: the shipped defaults overlaid by ``<home>/config/capacity.yaml``."""
    try:
        data = yaml.safe_load(SHIPPED_CAPACITY.read_text(encoding="utf-8")) or {}
        user = home / "config" / "capacity.yaml"
        if user.exists():
            data = _merge(data, yaml.safe_load(user.read_text(encoding="utf-8")) or {})
        p = data.get("policy") or {}
        policy = ContactPolicy(
            max_contacts=int(p.get("max_contacts", 2)), window_days=int(p.get("window_days", 30)),
            cooldown_days=int(p.get("cooldown_days", 60)),
            allowed_hours=tuple(p.get("allowed_hours", (9, 20))),  # type: ignore[arg-type]
        )
        c = data.get("capacity") or {}
        capacity = ChannelCapacity(daily={k: int(v) for k, v in (c.get("daily") or {}).items()},
                                   weekly={k: int(v) for k, v in (c.get("weekly") or {}).items()})
        due = int((data.get("work_orders") or {}).get("due_days", 10))
        m = data.get("measured_effects") or {}
        measured: dict[str, Any] = {"measured_effects": bool(m.get("enabled", True)),
                    "measured_min_treated": int(m.get("min_treated", 200)),
                    "measured_horizon": int(m.get("horizon", 1))}
        if measured["measured_min_treated"] < 1 or not 1 <= measured["measured_horizon"] <= 12:
            raise ValueError("measured_effects: min_treated must be at least 1 and horizon 1 to 12")
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise ConfigurationError(f"capacity.yaml: {exc}") from exc
    return PlanConfig(policy=policy, capacity=capacity, due_days=due, **measured)


def _history(uow: UnitOfWork, policy: ContactPolicy, first: dt.date) -> ContactHistory:
    since = first - dt.timedelta(days=max(policy.window_days, policy.cooldown_days) + 1)
    rows = uow.contacts.since(since)
    contacts = pa.table({
        "subscriber_id": pa.array([r.subscriber_id for r in rows], pa.string()),
        "contact_date": pa.array([r.contact_date for r in rows], pa.date32()),
        "channel": pa.array([r.channel for r in rows], pa.string()),
        "outcome": pa.array([r.outcome for r in rows], pa.string()),
    })
    sup = uow.suppressions.list()
    suppressions = pa.table({
        "subscriber_id": pa.array([s.subscriber_id for s in sup], pa.string()),
        "channel": pa.array([s.channel for s in sup], pa.string()),
        "kind": pa.array([s.kind for s in sup], pa.string()),
    })
    return ContactHistory(contacts=ibis.memtable(contacts), suppressions=ibis.memtable(suppressions))


def _profiles(con: Any, wh: Warehouse, month: str) -> ibis.Table:
    """The month's profiles a plan considers: the subscribers still on the network at its end.

    A subscriber who left during the month (status ``churned``, stage E) is
    gone: an offer or a work order could not reach them, and in a control
    group they would count as a churner whatever the campaign did.
    """
    if not wh.has("profiles", month, "output"):
        raise NotFound(f"no profiles for {month}; run `tenure run-month {month}` first")
    t = con.read_parquet(str(wh.path("profiles", month, "output")), table_name=f"plan_profiles_{month[:4]}{month[5:]}")
    alive = still_on_the_network(t)
    if alive is not None:  # the cycle's profiles always carry their status
        t = t.filter(alive)
    if wh.has("features", month, "output"):
        f = con.read_parquet(str(wh.path("features", month, "output")))
        extra = [c for c in f.columns if c not in t.columns]
        if extra:
            f = f.select(_fk=f.subscriber_id, **{c: f[c] for c in extra})
            t = t.left_join(f, t.subscriber_id == f._fk).drop("_fk")
    if "risk_decile" not in t.columns:
        t = t.mutate(risk_decile=ibis.null("int64"))
    if "msisdn" not in t.columns and wh.has("subscribers", month, "input"):
        s = con.read_parquet(str(wh.path("subscribers", month, "input")))
        s = s.select(_sk=s.subscriber_id, msisdn=s.msisdn)
        t = t.left_join(s, t.subscriber_id == s._sk).drop("_sk")
    return t


def _warnings_by_subscriber(con: Any, wh: Warehouse, month: str, subscribers: set[str]) -> dict[str, list[dict]]:
    if not subscribers or not wh.has("warnings", month, "output"):
        return {}
    w = con.read_parquet(str(wh.path("warnings", month, "output")))
    cols = [c for c in ("rule_id", "severity", "reason_en", "reason_zh") if c in w.columns]
    rows = w.filter(w.subscriber_id.isin(ibis.memtable({"s": sorted(subscribers)}).s)).select(
        "subscriber_id", *cols).to_pyarrow().to_pylist()
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r.pop("subscriber_id"), []).append(r)
    return out


def yield_to_triggers(decisions: pa.Table, taken: dict[str, str], month: str) -> tuple[pa.Table, int]:
    """The plan's decisions with ``selected`` turned into ``lost_arbitration`` where a trigger's work order
    holds the subscriber this month (the store keeps one order per subscriber and month); and how many."""
    if not taken or not decisions.num_rows:
        return decisions, 0
    subs = decisions["subscriber_id"]
    hit = pc.and_(pc.equal(decisions["decision"], "selected"), pc.is_in(subs, pa.array(list(taken), pa.string())))
    n = int(pc.sum(hit).as_py() or 0)
    if not n:
        return decisions, 0
    why = pa.array([f"already has a work order in {month} from {taken.get(s)}" if s in taken else None
                    for s in subs.to_pylist()], pa.string())
    cols = {
        "decision": pc.if_else(hit, "lost_arbitration", decisions["decision"]),
        "channel": pc.if_else(hit, pa.scalar(None, decisions.schema.field("channel").type), decisions["channel"]),
        "reason": pc.if_else(hit, why, decisions["reason"]),
    }
    for name, values in cols.items():
        i = decisions.schema.get_field_index(name)
        decisions = decisions.set_column(i, decisions.schema.field(name), values.cast(decisions.schema.field(name).type))
    return decisions, n


class MonthlyPlanService:
    """Plans a month and stores the plan (decisions in the warehouse, work orders in the store)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], warehouse: Warehouse, home: Path,
                 threads: int = 2, memory_limit: str | None = None) -> None:
        self.uow_factory = uow_factory
        self.warehouse = warehouse
        self.home = home
        self.threads = threads
        self.memory_limit = memory_limit

    def _connect(self) -> Any:
        kw: dict[str, Any] = {"threads": self.threads}
        if self.memory_limit:
            kw["memory_limit"] = self.memory_limit
        return ibis.duckdb.connect(**kw)

    def campaigns(self) -> list[Campaign]:
        return CampaignService(self.uow_factory).plannable()

    def with_measured_effects(self, campaigns: list[Campaign], month: str,
                              cfg: PlanConfig) -> tuple[list[Campaign], list[dict[str, Any]]]:
        """Campaigns carrying the effects measured for their strategy per segment, and where each effect comes from.

        A (strategy, segment) measured on plans before ``month`` with at least ``measured_min_treated``
        treated and a kept interval clear of zero replaces the campaign's configured ``expected_effect``
        for that segment (see :mod:`tenure.services.evaluation_breakdown`); every other segment keeps the
        configured effect. Returns one source row per campaign and measured segment.
        """
        from tenure.domain.errors import TenureError
        from tenure.services.evaluation_breakdown import EvaluationBreakdown

        measured: dict[tuple[str, str], dict[str, Any]] = {}
        note = None
        if cfg.measured_effects and campaigns:
            try:
                measured = EvaluationBreakdown(
                    self.warehouse, self.uow_factory, threads=self.threads, memory_limit=self.memory_limit,
                    min_treated=cfg.measured_min_treated,
                ).measured_effects(before=month, horizon=cfg.measured_horizon)
            except TenureError as exc:  # the plan goes on with the configured effects
                note = f"measured effects unavailable: {exc}"
        out, sources = [], []
        for c in campaigns:
            mine = sorted((seg, r) for (strategy, seg), r in measured.items()
                          if strategy == c.strategy and (not c.target_segments or seg in c.target_segments))
            if mine:
                c = replace(c, measured_effects=tuple((seg, float(r["effect"])) for seg, r in mine))
            out.append(c)
            sources.append({"campaign_id": c.campaign_id, "strategy": c.strategy, "segment_id": "*",
                            "effect": c.expected_effect, "source": "configured",
                            **({"note": note} if note else {})})
            sources += [{"campaign_id": c.campaign_id, "strategy": c.strategy, "segment_id": seg,
                         "effect": round(float(r["effect"]), 4), "source": "measured", "treated_n": r["treated_n"],
                         "kept_ci": [r["kept_ci_low"], r["kept_ci_high"]], "months": r["months"]}
                        for seg, r in mine]
        return out, sources

    def _profiles(self, con: Any, month: str) -> ibis.Table:
        """The month's profiles with ``manual_warning`` and ``manual_warning_severity`` of each customer:
        its manual warnings open now and raised by the end of ``month`` (services/warning_profiles.py)."""
        from tenure.services.warning_profiles import (
            month_end_utc,
            open_manual_warnings,
            with_manual_warnings,
        )

        open_now = open_manual_warnings(self.uow_factory, raised_until=month_end_utc(month))
        return with_manual_warnings(con, _profiles(con, self.warehouse, month), open_now, name=month)

    def _with_uplift(self, con: Any, profiles: ibis.Table, campaigns: list[Campaign], month: str) -> ibis.Table:
        """``profiles`` with the predicted uplift of each strategy an uplift-targeted campaign uses."""
        from tenure.analytics.planning import uplift_column
        from tenure.services.uplift import UpliftService

        strategies = sorted({c.strategy for c in campaigns if c.targeting == "uplift"})
        self.uplift_scores: dict[str, Any] = {}  # per strategy, for the expected-kept intervals
        for strategy in strategies:
            scores = UpliftService(self.warehouse, self.uow_factory, self.home, threads=self.threads).score_month(
                month, strategy)
            self.uplift_scores[strategy] = scores
            col = uplift_column(strategy)
            s = con.create_table(f"_uplift_{month[:4]}{month[5:]}_{len(strategy)}_{abs(hash(strategy)) % 10**8}",
                                 pa.table({"_us": scores["subscriber_id"].tolist(), col: scores["uplift"].tolist()}),
                                 temp=True, overwrite=True)
            profiles = profiles.left_join(s, profiles.subscriber_id == s._us).drop("_us")
        return profiles

    def preview(self, campaign: Campaign, month: str) -> dict[str, Any]:
        """What ``campaign`` alone would get in ``month`` (any status): as ``preview_campaign``, with the
        expected kept customers' interval of an uplift campaign."""
        from tenure.services.uplift import add_kept_intervals

        month = parse_month(month)
        cfg = load_plan_config(self.home)
        con = self._connect()
        try:
            first, _ = month_bounds(month)
            with self.uow_factory() as uow:
                history = _history(uow, cfg.policy, first)
            (campaign,), sources = self.with_measured_effects([campaign], month, cfg)
            profiles = self._with_uplift(con, self._profiles(con, month), [campaign], month)
            result = plan_month(profiles, [campaign], cfg.policy, cfg.capacity, history, month, con=con)
            add_kept_intervals(result.campaigns, result.decisions, [campaign], self.uplift_scores)
            return {**result.campaigns[0], "warnings": result.warnings, "expected_effects": sources}
        finally:
            con.disconnect()

    def plan(self, month: str, actor: str | None = None) -> dict[str, Any]:
        """Plan ``month``; returns the planner's report plus what was stored."""
        month = parse_month(month)
        cfg = load_plan_config(self.home)
        campaigns = self.campaigns()
        if not campaigns:
            raise InputError("no approved or running campaign; approve one first (tenure campaign approve)")
        first, last = month_bounds(month)
        campaigns, effect_sources = self.with_measured_effects(campaigns, month, cfg)
        con = self._connect()
        try:
            with self.uow_factory() as uow:
                history = _history(uow, cfg.policy, first)
            profiles = self._with_uplift(con, self._profiles(con, month), campaigns, month)
            result = plan_month(profiles, campaigns, cfg.policy, cfg.capacity, history, month, con=con)
            from tenure.services.uplift import add_kept_intervals

            add_kept_intervals(result.campaigns, result.decisions, campaigns, self.uplift_scores)
            decisions = result.decisions
            selected = decisions.filter(pc.equal(decisions["decision"], "selected"))
            extra_cols = [c for c in ("segment_id", "msisdn") if c in profiles.columns]
            sub_info: dict[str, dict] = {}
            if selected.num_rows:
                keys = ibis.memtable({"_s": selected["subscriber_id"].to_pylist()})
                info = profiles.select("subscriber_id", *extra_cols)
                info = info.inner_join(keys, info.subscriber_id == keys._s).drop("_s")
                sub_info = {r["subscriber_id"]: r for r in con.to_pyarrow(info).to_pylist()}
            staffed = {s for s, ch in zip(selected["subscriber_id"].to_pylist(), selected["channel"].to_pylist())
                       if ch in STAFF_CHANNELS}
            warnings = _warnings_by_subscriber(con, self.warehouse, month, staffed)
        finally:
            con.disconnect()

        due = min(first + dt.timedelta(days=cfg.due_days), last)
        now = dt.datetime.now(dt.UTC)
        with self.uow_factory() as uow:
            replaced = uow.work_orders.delete_unworked(month)
            kept = uow.work_orders.subscribers_with_outcomes(month)
            # One work order per subscriber and month (a unique key): a trigger that acted first
            # keeps its order, and the plan's decision for that subscriber says so.
            taken = uow.work_orders.trigger_orders(month)
            todo = [r for r in selected.to_pylist() if r["subscriber_id"] not in kept and r["subscriber_id"] not in taken]
            # Each staffed channel's orders go to the customer's owner of that channel's role.
            owners = {ch: uow.work_orders.portfolio_owners(
                (r["customer_id"] for r in todo if r["channel"] == ch), role=ch) for ch in ASSIGNED_CHANNELS}
            orders = [
                {
                    "month": month, "campaign_id": r["campaign_id"], "subscriber_id": r["subscriber_id"],
                    "customer_id": r["customer_id"], "channel": r["channel"],
                    "segment_id": sub_info.get(r["subscriber_id"], {}).get("segment_id"),
                    "msisdn": sub_info.get(r["subscriber_id"], {}).get("msisdn"),
                    "assignee_id": owners[r["channel"]].get(r["customer_id"]) if r["channel"] in ASSIGNED_CHANNELS else None,
                    "due_date": due, "expected_value": r["expected_value"], "reason": r["reason"] or "",
                    "warnings": warnings.get(r["subscriber_id"]), "status": "open", "created_at": now,
                }
                for r in todo
            ]
            # A trigger committing meanwhile wins the subscriber: that row is skipped, not a failed plan.
            uow.work_orders.insert_many(orders, skip_taken=True)
            taken = uow.work_orders.trigger_orders(month)
            decisions, yielded = yield_to_triggers(decisions, taken, month)
            stored = {"work_orders": len(orders) - sum(1 for o in orders if o["subscriber_id"] in taken),
                      "replaced": replaced, "kept_with_outcomes": len(kept), "taken_by_triggers": yielded,
                      "unassigned": sum(1 for o in orders if o["channel"] in ASSIGNED_CHANNELS and o["assignee_id"] is None)}
            audit.record(uow, actor or "system", "plan.month", "plan", month, None,
                         {"campaigns": [c.campaign_id for c in campaigns], **stored,
                          "selected": selected.num_rows, "considered": decisions.num_rows})
            uow.commit()
        with self.warehouse.write_month(month, "output", meta={"step": "plan-month"}) as out:
            out.write("decisions", decisions)
        doc = result.to_dict()
        doc["stored"] = stored
        doc["expected_effects"] = effect_sources
        return doc
