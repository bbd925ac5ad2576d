"""Plan a month of retention contacts: run the planning expressions and build the report.

The runner executes the expressions of :mod:`tenure.analytics.planning` on
the profiles' backend (DuckDB by default), materialising the intermediate
tables so the bounded channel-allocation passes each read a small, fixed
input. It returns one decision per subscriber and a report per campaign, per
channel and in total. It writes nothing: the caller stores the plan.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from tenure.analytics import planning as plan
from tenure.analytics.planning import ContactHistory, PlanSettings, TargetFilter
from tenure.domain.campaigns import Campaign
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.domain.errors import InputError
from tenure.domain.statistics import minimum_detectable_effect

SUPPRESSION_KEYS = plan.SUPPRESSIONS


@dataclass
class PlanResult:
    """A month's plan: decisions (Arrow, one row per subscriber) and the report."""

    month: str
    decisions: pa.Table
    campaigns: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    totals: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (decisions are left out: they are one row per subscriber)."""
        return {
            "month": self.month,
            "totals": self.totals,
            "campaigns": self.campaigns,
            "channels": self.channels,
            "warnings": self.warnings,
        }


class _Scratch:
    """Temporary tables of one planning run, dropped at the end."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.prefix = f"_plan_{uuid.uuid4().hex[:8]}"
        self.names: list[str] = []
        self.count = 0

    def keep(self, expr: ir.Table) -> ir.Table:
        self.count += 1
        name = f"{self.prefix}_{self.count}"
        self.names.append(name)
        return self.con.create_table(name, expr, temp=True)

    def release(self, table: ir.Table) -> None:
        """Drop a table no later step reads, to keep peak memory down."""
        name = table.get_name().split(".")[-1]  # DuckDB qualifies temp tables
        if name in self.names:
            self.names.remove(name)
            self.con.drop_table(name, force=True)

    def drop(self) -> None:
        for name in self.names:
            try:
                self.con.drop_table(name, force=True)
            except Exception:  # noqa: BLE001, S110 - cleanup is best effort
                pass
        self.names.clear()


def _backend(profiles: ir.Table, con: Any | None) -> Any:
    if con is not None:
        return con
    try:
        return profiles._find_backend(use_default=True)
    except Exception:  # noqa: BLE001 - an unbound expression runs on a fresh DuckDB
        return ibis.duckdb.connect()


def channel_days(campaigns: Sequence[Campaign], month: str) -> dict[str, set[dt.date]]:
    """Days of ``month`` on which each channel is used by at least one campaign."""
    first, last = plan.month_bounds(month)
    out: dict[str, set[dt.date]] = {}
    for c in campaigns:
        start, end = max(c.start_date, first), min(c.end_date, last)
        days = {start + dt.timedelta(d) for d in range((end - start).days + 1)}
        for ch in c.channels:
            out.setdefault(ch, set()).update(days)
    return out


def _counts(table: ir.Table, *keys: str) -> dict[tuple[Any, ...], int]:
    rows = table.group_by(list(keys)).aggregate(n=table.count()).to_pyarrow().to_pylist()
    return {tuple(r[k] for k in keys): int(r["n"]) for r in rows}


def plan_month(
    profiles: ir.Table,
    campaigns: Sequence[Campaign],
    policy: ContactPolicy,
    capacity: ChannelCapacity,
    history: ContactHistory,
    month: str,
    settings: PlanSettings | None = None,
    targets: Mapping[str, TargetFilter] | None = None,
    con: Any | None = None,
) -> PlanResult:
    """Decide, for every subscriber in ``profiles``, at most one campaign contact in ``month``.

    ``targets`` maps campaign ids to compiled target filters; a campaign
    without one has its ``target_filter`` compiled by the rule language.
    """
    settings = settings or PlanSettings()
    ids = [c.campaign_id for c in campaigns]
    if len(set(ids)) != len(ids):
        raise InputError("campaign ids must be unique")
    first, last = plan.month_bounds(month)
    active = [c for c in campaigns if c.active_in(first, last)]
    warnings = [
        f"campaign {c.campaign_id} does not run in {month}" for c in campaigns if c not in active
    ]
    for c in active:
        if policy.contact_hours(c) is None:
            warnings.append(
                f"campaign {c.campaign_id}: its contact hours lie outside the policy's hours"
            )
    if not active:
        raise InputError(f"no campaign runs in {month}")

    backend = _backend(profiles, con)
    scratch = _Scratch(backend)
    try:
        compiled = plan.resolve_targets(profiles, active, month, targets)
        compiled = _with_offer_eligibility(profiles, active, compiled, last, warnings)
        # Materialised once: every campaign's branch of the pairs reads it.
        prepared = scratch.keep(
            plan.prepare_profiles(profiles, active, compiled, policy, history, month, settings)
        )
        pairs = scratch.keep(plan.eligible_pairs(prepared, active, policy, month, settings))
        scratch.release(prepared)
        arbitrated = scratch.keep(plan.arbitrate(pairs))
        scratch.release(pairs)
        winners = scratch.keep(
            plan.hold_out_controls(arbitrated.filter(arbitrated.outcome == "won"))
        )

        days = channel_days(active, month)
        limits = {ch: capacity.limit(ch, d) for ch, d in days.items()}
        for k in range(1, plan.max_channels(active) + 1):
            used = {
                ch: n
                for (ch,), n in _counts(
                    winners.filter(winners.channel.notnull()), "channel"
                ).items()
            }
            remaining = {
                ch: None if lim is None else max(lim - used.get(ch, 0), 0)
                for ch, lim in limits.items()
            }
            allocated = scratch.keep(plan.allocate_pass(winners, k, remaining))
            scratch.release(winners)
            winners = allocated

        # Read by the decisions and the report only: a view, not another copy of every pair.
        final = plan.final_pairs(arbitrated, winners)
        decided = plan.decisions(profiles, final, policy, month).to_pyarrow()
        report = _report(final, active, limits, decided, settings, month)
    finally:
        scratch.drop()
    return PlanResult(month=month, decisions=decided, warnings=warnings, **report)


def _with_offer_eligibility(
    profiles: ir.Table,
    campaigns: Sequence[Campaign],
    targets: Mapping[str, ir.BooleanValue],
    month_end: dt.date,
    warnings: list[str],
) -> dict[str, ir.BooleanValue]:
    """Each campaign's target narrowed by its offer's eligibility (the library's rule for who may get it).

    An eligibility that cannot be evaluated on these profiles (a column they
    lack) is left out with a warning in the report rather than failing the plan.
    """
    out = dict(targets)
    for c in campaigns:
        rule = c.offer_definition.eligibility.strip()
        if not rule:
            continue
        try:
            from tenure.analytics.rules import compile_expression
            from tenure.domain.rules import parse

            eligible = compile_expression(parse(rule), profiles, month_end)
        except InputError as exc:
            warnings.append(
                f"campaign {c.campaign_id}: offer {c.strategy}/{c.offer} eligibility not applied ({exc})"
            )
            continue
        out[c.campaign_id] = out[c.campaign_id] & eligible.fill_null(False)
    return out


def offer_summary(campaign: Campaign, month: str) -> dict[str, Any]:
    """The offer a campaign makes, as the plan used it: cost, eligibility, how long it stands once made."""
    o = campaign.offer_definition
    _, last = plan.month_bounds(month)
    return {
        "strategy": campaign.strategy,
        "offer": campaign.offer,
        "name": o.name,
        "unit_cost": campaign.offer_cost,
        "eligibility": o.eligibility,
        "validity_days": o.validity_days,
        # A contact made on the month's last day keeps the offer open until then.
        "valid_until": (last + dt.timedelta(days=o.validity_days)).isoformat(),
    }


def _report(
    final: ir.Table,
    campaigns: Sequence[Campaign],
    limits: Mapping[str, int | None],
    decided: pa.Table,
    settings: PlanSettings,
    month: str,
) -> dict[str, Any]:
    by_outcome = _counts(final, "campaign_id", "outcome")
    by_channel = _counts(final.filter(final.outcome == "selected"), "campaign_id", "channel")
    assigned = final.filter(final.outcome.isin(["selected", "control", "over_capacity"]))
    base_rows = (
        assigned.group_by("campaign_id")
        .aggregate(rate=assigned.risk.mean())
        .to_pyarrow()
        .to_pylist()
    )
    base_rate = {r["campaign_id"]: r["rate"] for r in base_rows}
    chosen = final.filter(final.outcome == "selected")
    kept_rows = chosen.group_by("campaign_id").aggregate(kept=chosen.kept.sum()).to_pyarrow().to_pylist()
    expected_kept = {r["campaign_id"]: r["kept"] for r in kept_rows}

    reports: list[dict[str, Any]] = []
    expected_cost = 0.0
    for c in campaigns:
        n = {o: by_outcome.get((c.campaign_id, o), 0) for o in plan.DECISIONS}
        considered = sum(n.values())
        suppressed = {k: n[k] for k in SUPPRESSION_KEYS}
        after_policy = considered - n["global_control"] - sum(suppressed.values())
        won = n["selected"] + n["control"] + n["over_capacity"]
        rate = base_rate.get(c.campaign_id)
        mde = minimum_detectable_effect(
            n["selected"], n["control"], rate or 0.0, settings.mde_alpha, settings.mde_power
        )
        expected_cost += n["selected"] * c.offer_cost
        reports.append(
            {
                "campaign_id": c.campaign_id,
                "name": c.name,
                "status": c.status.value,
                "priority": c.priority,
                "considered": considered,
                "selected": n["selected"],
                "control": n["control"],
                "global_control": n["global_control"],
                "lost_arbitration": n["lost_arbitration"],
                "over_capacity": n["over_capacity"],
                "suppressed": suppressed,
                "channels": {ch: by_channel.get((c.campaign_id, ch), 0) for ch in c.channels},
                "offer": offer_summary(c, month),
                "preview": {
                    "matches": considered,
                    "after_policy": after_policy,
                    "after_arbitration": won,
                    "after_capacity": n["selected"],
                    "expected_cost": round(n["selected"] * c.offer_cost, 2),
                    "control_size": n["control"],
                    "base_rate": None if rate is None else round(float(rate), 4),
                    "minimum_detectable_effect": None if mde is None else round(mde, 4),
                    # Risk: churn probability × expected effect; uplift: the model's predicted uplift.
                    "targeting": c.targeting,
                    "expected_kept": round(float(expected_kept.get(c.campaign_id) or 0.0), 1),
                },
            }
        )

    volume: dict[str, int] = {}
    for (_, ch), cnt in by_channel.items():
        volume[ch] = volume.get(ch, 0) + cnt
    channels = []
    for ch in sorted(limits):
        planned, cap = volume.get(ch, 0), limits[ch]
        channels.append(
            {
                "channel": ch,
                "planned": planned,
                "capacity": cap,
                "utilisation": None if not cap else round(planned / cap, 4),
            }
        )

    counts = pc.value_counts(decided["decision"]).to_pylist()
    per_decision = {d: 0 for d in plan.DECISIONS}
    per_decision.update({r["values"]: int(r["counts"]) for r in counts})
    totals = {
        "considered": decided.num_rows,
        "decisions": per_decision,
        "suppressed": {k: per_decision[k] for k in SUPPRESSION_KEYS},
        "expected_cost": round(expected_cost, 2),
        "pairs": sum(by_outcome.values()),
    }
    return {"campaigns": reports, "channels": channels, "totals": totals}


def preview_campaign(
    profiles: ir.Table,
    campaign: Campaign,
    policy: ContactPolicy,
    capacity: ChannelCapacity,
    history: ContactHistory,
    month: str,
    settings: PlanSettings | None = None,
    target: TargetFilter | None = None,
    con: Any | None = None,
) -> dict[str, Any]:
    """The report of ``campaign`` planned alone for ``month`` (any status, drafts included).

    Matches, what is left after the policy and capacity, expected cost,
    control size and minimum detectable effect, without competition from
    other campaigns: what an analyst sees while writing the campaign.
    """
    targets = None if target is None else {campaign.campaign_id: target}
    result = plan_month(profiles, [campaign], policy, capacity, history, month, settings, targets, con)
    return {**result.campaigns[0], "warnings": result.warnings}
