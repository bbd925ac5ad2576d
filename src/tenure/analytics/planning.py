"""Monthly retention planning as Ibis expressions: who gets which campaign, on which channel.

The planner works on one row per subscriber (the month's profiles) and a
list of campaigns. Every step is a table expression; only the runner in
``tenure.services.planning`` executes them, materialising between the
bounded channel-allocation passes. The decision order (see
``docs/campaigns.md``):

1. eligibility — the campaign is active in the month, its target filter holds
   and the subscriber is in one of its target segments: one *pair* per
   (subscriber, campaign);
2. global control — subscribers in the quarter's global control group;
3. contact policy — every campaign channel opted out or do-not-disturb, a
   refusal inside the cool-down, the contact cap reached;
4. arbitration — one pair per customer: priority, then expected value;
5. campaign control — a stratified, deterministic holdout of the winners;
6. budget — a campaign's treated customers by expected value until its
   budget is spent;
7. channel capacity — passes over the customer's preferred channels, each
   channel filled by expected value; what does not fit waits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import ibis
import ibis.expr.types as ir

from tenure.domain.campaigns import Campaign, preference_column
from tenure.domain.contact_policy import ALL_CHANNELS, ContactPolicy
from tenure.domain.control_groups import HASH_HEX_DIGITS, SEPARATOR, quarter_of
from tenure.domain.errors import ConfigurationError, InputError

DECISIONS: tuple[str, ...] = (
    "selected",
    "control",
    "global_control",
    "capped",
    "do_not_disturb",
    "opted_out",
    "cooling_down",
    "over_capacity",
    "lost_arbitration",
    "not_eligible",
)
"""Every decision a considered subscriber can receive."""

SUPPRESSIONS: tuple[str, ...] = ("opted_out", "do_not_disturb", "cooling_down", "capped")
"""Contact-policy outcomes, in the order they are checked."""

REQUIRED_COLUMNS: tuple[str, ...] = (
    "subscriber_id", "customer_id", "region", "segment_id", "is_core", "current_value",
    "churn_probability", "risk_decile", "warning_count",
)

TargetFilter: TypeAlias = ir.BooleanValue | Callable[[ir.Table], ir.BooleanValue]
"""A campaign's target as a boolean over the profiles, or a function building one."""


@dataclass(frozen=True)
class PlanSettings:
    """Planner parameters that are not part of a campaign or the contact policy.

    ``value_months`` turns the profile's monthly ``current_value`` into the
    value at stake if the customer leaves. A missing churn probability falls
    back to ``default_risk_by_stage`` (when profiles carry ``stage``), then to
    ``default_risk_by_warnings`` indexed by warning count (the last entry for
    that many or more).
    """

    value_months: float = 12.0
    default_risk_by_stage: Mapping[str, float] = field(
        default_factory=lambda: {"A": 0.05, "B": 0.03, "C": 0.02, "D": 0.25, "E": 0.6}
    )
    default_risk_by_warnings: tuple[float, ...] = (0.02, 0.10, 0.20, 0.35)
    global_control_share: float = 0.0
    mde_alpha: float = 0.05
    mde_power: float = 0.8

    def __post_init__(self) -> None:
        if not 0 <= self.global_control_share < 0.5:
            raise ValueError("global_control_share must lie in [0, 0.5)")
        if not self.default_risk_by_warnings:
            raise ValueError("default_risk_by_warnings needs at least one entry")


@dataclass(frozen=True)
class ContactHistory:
    """Past contacts and customers' channel choices.

    ``contacts``: subscriber_id, contact_date (date), channel, outcome (for
    example ``accepted``, ``refused``, ``no_answer``). ``suppressions``:
    subscriber_id, channel (a channel or ``*``), kind (``do_not_disturb`` or
    ``opt_out``). Either may be ``None`` (nothing recorded).
    """

    contacts: ir.Table | None = None
    suppressions: ir.Table | None = None


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``YYYY-MM``."""
    try:
        first = dt.date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InputError(f"month must be YYYY-MM, got {month!r}") from None
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def rule_target(campaign: Campaign, table: ir.Table, month_end: dt.date) -> ir.BooleanValue:
    """Compile ``campaign.target_filter`` with the rule language against ``table``.

    Raises :class:`ConfigurationError` when the rule compiler is not installed;
    callers can then pass pre-compiled targets to the planner instead.
    """
    try:
        from tenure.analytics.rules import compile_expression  # type: ignore[attr-defined]
        from tenure.domain.rules import parse  # type: ignore[attr-defined]
    except ImportError as exc:
        raise ConfigurationError(
            f"the rule compiler is not available ({exc}); pass a compiled target for {campaign.campaign_id}"
        ) from None
    return compile_expression(parse(campaign.target_filter), table, month_end)


def resolve_targets(
    profiles: ir.Table,
    campaigns: Sequence[Campaign],
    month: str,
    targets: Mapping[str, TargetFilter] | None = None,
) -> dict[str, ir.BooleanValue]:
    """One boolean over ``profiles`` per campaign: the given target, else the compiled rule."""
    _, last = month_bounds(month)
    out: dict[str, ir.BooleanValue] = {}
    for c in campaigns:
        given = (targets or {}).get(c.campaign_id)
        if given is None:
            out[c.campaign_id] = rule_target(c, profiles, last)
        elif callable(given):
            out[c.campaign_id] = given(profiles)
        else:
            out[c.campaign_id] = given
    return out


def uniform_draw(key: ir.StringValue) -> ir.FloatingValue:
    """The engine twin of :func:`tenure.domain.control_groups.uniform`: MD5 → [0, 1)."""
    digest = key.hexdigest("md5")
    total: ir.IntegerValue = ibis.literal(0, type="int64")
    for i in range(HASH_HEX_DIGITS):
        code = digest.substr(i, 1).ascii_str().cast("int64")
        # '0'..'9' are 48..57, 'a'..'f' are 97..102 (MD5 hex is lower case)
        digit = ibis.ifelse(code >= 97, code - 87, code - 48)
        total = total + digit * (16 ** (HASH_HEX_DIGITS - 1 - i))
    return total.cast("float64") / float(16**HASH_HEX_DIGITS)


def _risk(profiles: ir.Table, settings: PlanSettings) -> ir.FloatingValue:
    warn = profiles.warning_count.fill_null(0)
    by_warn = settings.default_risk_by_warnings
    cases = ibis.cases(
        *[(warn == i, by_warn[i]) for i in range(len(by_warn) - 1)], else_=by_warn[-1]
    ) if len(by_warn) > 1 else ibis.literal(by_warn[0])
    fallbacks: list[Any] = [profiles.churn_probability.cast("float64")]
    if "stage" in profiles.columns and settings.default_risk_by_stage:
        fallbacks.append(profiles.stage.substitute(dict(settings.default_risk_by_stage), else_=ibis.null("float64")).cast("float64"))
    fallbacks.append(cases.cast("float64"))
    return ibis.coalesce(*fallbacks)


def prepare_profiles(
    profiles: ir.Table,
    campaigns: Sequence[Campaign],
    targets: Mapping[str, ir.BooleanValue],
    policy: ContactPolicy,
    history: ContactHistory,
    month: str,
    settings: PlanSettings,
) -> ir.Table:
    """Profiles with the columns the planner needs, one row per subscriber.

    Adds ``_risk`` (churn probability or its default), ``_decile`` (given risk
    decile or one derived from ``_risk``), ``_value``, ``_global`` (in the
    quarter's global control), ``_contacts`` and ``_last_refusal`` (per
    customer), ``_optout_<channel>``/``_dnd_<channel>`` and ``_t<i>`` (target
    of campaign ``i``).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in profiles.columns]
    if missing:
        raise InputError(f"profiles lack column(s) {', '.join(missing)}")
    first, _ = month_bounds(month)
    channels = sorted({ch for c in campaigns for ch in c.channels})
    prefs = sorted({preference_column(ch) for ch in channels})
    absent = [p for p in prefs if p not in profiles.columns]
    if absent:
        raise InputError(f"profiles lack preference column(s) {', '.join(absent)}")

    t = profiles.mutate(**{f"_t{i}": targets[c.campaign_id].fill_null(False) for i, c in enumerate(campaigns)})
    risk = _risk(t, settings)
    t = t.mutate(_risk=risk)
    derived = (ibis.ntile(10).over(order_by=[t._risk, t.subscriber_id]) + 1).cast("int64")
    t = t.mutate(
        _decile=ibis.coalesce(t.risk_decile.cast("int64"), derived),
        _value=t.current_value.cast("float64").fill_null(0.0),
    )
    if settings.global_control_share > 0:
        key = t.subscriber_id.cast("string").concat(f"{SEPARATOR}global{SEPARATOR}{quarter_of(month)}")
        t = t.mutate(_global=uniform_draw(key) < settings.global_control_share)
    else:
        t = t.mutate(_global=ibis.literal(False))

    if history.contacts is not None:
        h = history.contacts
        links = profiles.select("subscriber_id", "customer_id")
        h = h.select("subscriber_id", "contact_date", "outcome").join(links, "subscriber_id")
        day = h.contact_date.cast("date")
        in_window = (day >= policy.window_start(first)) & (day < first)
        refusal = h.outcome.isin(list(policy.refusal_outcomes)) & (day < first)
        per_customer = h.group_by("customer_id").aggregate(
            _contacts=in_window.cast("int64").sum(),
            _last_refusal=day.max(where=refusal),
        )
        t = t.left_join(per_customer, "customer_id").drop("customer_id_right")
        t = t.mutate(_contacts=t._contacts.fill_null(0))
    else:
        t = t.mutate(_contacts=ibis.literal(0, type="int64"), _last_refusal=ibis.null("date"))

    flags = {}
    if history.suppressions is not None and channels:
        s = history.suppressions
        for ch in channels:
            hit = (s.channel == ch) | (s.channel == ALL_CHANNELS)
            flags[f"_optout_{ch}"] = (hit & (s.kind == "opt_out")).any()
            flags[f"_dnd_{ch}"] = (hit & (s.kind == "do_not_disturb")).any()
        per_sub = s.group_by("subscriber_id").aggregate(**flags)
        t = t.left_join(per_sub, "subscriber_id").drop("subscriber_id_right")
        t = t.mutate(**{k: t[k].fill_null(False) for k in flags})
    else:
        t = t.mutate(**{f"_{kind}_{ch}": ibis.literal(False) for ch in channels for kind in ("optout", "dnd")})
    return t


def max_channels(campaigns: Sequence[Campaign]) -> int:
    """The most channels any campaign lists: the number of allocation passes needed."""
    return max((len(c.channels) for c in campaigns), default=0)


def expected_effect(rows: ir.Table, campaign: Campaign) -> ir.FloatingValue | float:
    """The campaign's expected effect, or the effect measured for the row's segment where one exists."""
    if not campaign.measured_effects:
        return campaign.expected_effect
    seg = rows.segment_id.cast("string")
    return ibis.cases(*[(seg == s, ibis.literal(float(e), type="float64")) for s, e in campaign.measured_effects],
                      else_=ibis.literal(float(campaign.expected_effect), type="float64"))


def uplift_column(strategy: str) -> str:
    """The profile column with the predicted uplift for campaigns of ``strategy`` (added by the plan service)."""
    return f"uplift__{strategy}"


def _campaign_pairs(
    t: ir.Table, index: int, campaign: Campaign, policy: ContactPolicy, first: dt.date,
    settings: PlanSettings, n_choices: int,
) -> ir.Table:
    c = campaign
    rows = t.filter(t[f"_t{index}"])
    if c.target_segments:
        rows = rows.filter(rows.segment_id.cast("string").isin(list(c.target_segments)))
    chans = list(c.channels)
    ok = [~(rows[f"_optout_{ch}"] | rows[f"_dnd_{ch}"]) for ch in chans]
    pref = [rows[preference_column(ch)].cast("float64").fill_null(0.0) for ch in chans]
    # Rank of each allowed channel by the customer's preference; ties keep the
    # campaign's own order of channels.
    ranks = []
    for i in range(len(chans)):
        ahead: ir.IntegerValue = ibis.literal(1, type="int64")
        for j in range(len(chans)):
            if j != i:
                better = (pref[j] > pref[i]) | ((pref[j] == pref[i]) & ibis.literal(j < i))
                ahead = ahead + (ok[j] & better).cast("int64")
        ranks.append(ibis.ifelse(ok[i], ahead, ibis.null("int64")))
    choices = {}
    for k in range(1, n_choices + 1):
        cases = [(ranks[i] == k, chans[i]) for i in range(len(chans))]
        choices[f"choice_{k}"] = ibis.cases(*cases, else_=ibis.null("string")).cast("string")
    any_ok = ibis.literal(False)
    for o in ok:
        any_ok = any_ok | o
    any_optout = ibis.literal(False)
    for ch in chans:
        any_optout = any_optout | rows[f"_optout_{ch}"]
    cooling = rows._last_refusal.notnull() & (rows._last_refusal >= policy.cooldown_start(first))
    capped = rows._contacts >= policy.max_contacts
    status = ibis.cases(
        (rows._global, "global_control"),
        (~any_ok & any_optout, "opted_out"),
        (~any_ok, "do_not_disturb"),
        (cooling, "cooling_down"),
        (capped, "capped"),
        else_=ibis.null("string"),
    )
    cost = float(c.offer_cost)
    ev = rows._risk * rows._value * settings.value_months * expected_effect(rows, c) - cost
    # Expected customers kept per treated customer: risk × expected effect, or the predicted uplift
    # (drop in churn probability, tenure.ml.uplift) for a campaign that targets by uplift.
    if c.targeting == "uplift":
        col = uplift_column(c.strategy)
        if col not in rows.columns:
            raise InputError(f"campaign {c.campaign_id} targets by uplift but the profiles carry no {col}")
        kept = rows[col].cast("float64").fill_null(0.0)
        ev = kept * rows._value * settings.value_months - cost
    else:
        kept = rows._risk * expected_effect(rows, c)
    limit = int(c.budget // cost) if c.budget is not None and cost > 0 else None
    return rows.select(
        subscriber_id=rows.subscriber_id.cast("string"),
        customer_id=rows.customer_id.cast("string"),
        segment_id=rows.segment_id.cast("string"),
        decile=rows._decile,
        risk=rows._risk,
        campaign_id=ibis.literal(c.campaign_id, type="string"),
        priority=ibis.literal(c.priority, type="int64"),
        control_share=ibis.literal(c.control_share, type="float64"),
        budget_limit=ibis.literal(limit, type="int64"),
        cost=ibis.literal(cost, type="float64"),
        expected_value=ev.cast("float64"),
        kept=kept.cast("float64"),
        status=status.cast("string"),
        contacts=rows._contacts.cast("int64"),
        last_refusal=rows._last_refusal.cast("date"),
        **choices,
    )


def eligible_pairs(
    prepared: ir.Table,
    campaigns: Sequence[Campaign],
    policy: ContactPolicy,
    month: str,
    settings: PlanSettings,
) -> ir.Table:
    """One row per (subscriber, campaign) the subscriber qualifies for, with its policy status.

    ``status`` is null for a pair that passed the global control and the
    contact policy, else one of ``global_control`` and :data:`SUPPRESSIONS`.
    ``choice_1..choice_k`` are the campaign's channels still allowed for the
    subscriber, most preferred first.
    """
    first, last = month_bounds(month)
    active = [(i, c) for i, c in enumerate(campaigns) if c.active_in(first, last)]
    if not active:
        raise InputError(f"no campaign runs in {month}")
    n = max_channels(campaigns)
    parts = [_campaign_pairs(prepared, i, c, policy, first, settings, n) for i, c in active]
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def arbitrate(pairs: ir.Table) -> ir.Table:
    """Pairs with ``outcome``: the one winning pair per customer among those the policy let through.

    Winners get ``outcome = 'won'``; other allowed pairs ``lost_arbitration``
    (``winner`` names the campaign that won); suppressed pairs keep their
    status. Order: priority (higher first), expected value, campaign id.
    """
    allowed = pairs.status.isnull()
    # One sort serves both windows; suppressed pairs form their own partitions.
    w = ibis.window(
        group_by=[pairs.customer_id, allowed],
        order_by=[ibis.desc(pairs.priority), ibis.desc(pairs.expected_value), pairs.campaign_id, pairs.subscriber_id],
    )
    first = ibis.row_number().over(w) == 0
    return pairs.mutate(
        winner=ibis.ifelse(allowed, pairs.campaign_id.first().over(w), ibis.null("string")),
        outcome=ibis.cases((~allowed, pairs.status), (first, "won"), else_="lost_arbitration"),
    )


def hold_out_controls(winners: ir.Table) -> ir.Table:
    """Winning pairs with ``outcome`` ``control``, ``over_budget`` or ``treated``.

    Control: within each stratum (campaign × segment × risk decile) the
    ``round(control_share × n)`` lowest draws of MD5(subscriber|campaign).
    Budget: the rest of each campaign by expected value, up to
    ``budget_limit`` customers. The control is taken before budget and
    capacity so it is a random sample of everyone the campaign chose.
    """
    key = winners.subscriber_id.concat(SEPARATOR).concat(winners.campaign_id)
    t = winners.mutate(draw=uniform_draw(key))
    stratum = ibis.window(group_by=[t.campaign_id, t.segment_id, t.decile], order_by=[t.draw, t.subscriber_id])
    t = t.mutate(
        _pos=ibis.row_number().over(stratum),
        _n=t.subscriber_id.count().over(ibis.window(group_by=[t.campaign_id, t.segment_id, t.decile])),
    )
    quota = (t.control_share * t._n + 0.5).floor()
    t = t.mutate(_control=t._pos < quota)
    budget_w = ibis.window(
        group_by=[t.campaign_id, t._control],
        order_by=[ibis.desc(t.expected_value), t.subscriber_id],
    )
    t = t.mutate(_brank=ibis.row_number().over(budget_w))
    outcome = ibis.cases(
        (t._control, "control"),
        (t.budget_limit.notnull() & (t._brank >= t.budget_limit), "over_budget"),
        else_="treated",
    )
    return t.mutate(outcome=outcome, channel=ibis.null("string"), pass_no=ibis.null("int64")).drop(
        "_pos", "_n", "_control", "_brank"
    )


def allocate_pass(winners: ir.Table, k: int, remaining: Mapping[str, int | None]) -> ir.Table:
    """Pass ``k`` of channel allocation.

    Treated pairs still without a channel whose ``choice_k`` is set are
    ranked per channel by expected value; the first ``remaining[channel]``
    get it (a channel missing from ``remaining`` or mapped to ``None`` has no
    limit). Earlier assignments are kept.
    """
    col = winners[f"choice_{k}"]
    waiting = (winners.outcome == "treated") & winners.channel.isnull() & col.notnull()
    w = ibis.window(group_by=[col, waiting], order_by=[ibis.desc(winners.expected_value), winners.subscriber_id])
    rank = ibis.row_number().over(w)
    limited = {ch: n for ch, n in remaining.items() if n is not None}
    if limited:
        cap = ibis.cases(*[(col == ch, n) for ch, n in limited.items()], else_=ibis.null("int64"))
        fits = cap.isnull() | (rank < cap)
    else:
        fits = ibis.literal(True)
    take = waiting & fits
    return winners.mutate(
        channel=ibis.ifelse(take, col, winners.channel),
        pass_no=ibis.ifelse(take, ibis.literal(k, type="int64"), winners.pass_no),
    )


def final_pairs(arbitrated: ir.Table, allocated: ir.Table) -> ir.Table:
    """Every pair with its final ``outcome`` (a value of :data:`DECISIONS` except ``not_eligible``)."""
    w = allocated.mutate(
        outcome=ibis.cases(
            (allocated.outcome == "control", "control"),
            (allocated.channel.notnull(), "selected"),
            else_="over_capacity",
        ),
        capacity_reason=ibis.cases(
            (allocated.outcome == "over_budget", "campaign budget spent"),
            (allocated.outcome == "treated", "every allowed channel is full; waits for capacity"),
            else_=ibis.null("string"),
        ),
    )
    cols = [
        "subscriber_id", "customer_id", "segment_id", "decile", "risk", "campaign_id", "priority",
        "cost", "expected_value", "kept", "outcome", "winner", "contacts", "last_refusal",
    ]
    rest = arbitrated.filter(arbitrated.outcome != "won").mutate(
        channel=ibis.null("string"), pass_no=ibis.null("int64"), capacity_reason=ibis.null("string")
    )
    tail = ["channel", "pass_no", "capacity_reason"]
    return ibis.union(w.select(*cols, *tail), rest.select(*cols, *tail), distinct=False)


_DECISION_RANK = {
    "selected": 0, "control": 0, "over_capacity": 0, "global_control": 1, "lost_arbitration": 2,
    "opted_out": 3, "do_not_disturb": 3, "cooling_down": 3, "capped": 3,
}


def decisions(profiles: ir.Table, pairs: ir.Table, policy: ContactPolicy, month: str) -> ir.Table:
    """One decision record per subscriber of ``profiles``.

    A subscriber's record is its winning pair if it has one, else its global
    control, lost-arbitration or policy pair (the highest-priority one);
    subscribers without a pair are ``not_eligible``.
    """
    rank = pairs.outcome.substitute(_DECISION_RANK, else_=9).cast("int64")
    w = ibis.window(
        group_by=pairs.subscriber_id,
        order_by=[rank, ibis.desc(pairs.priority), ibis.desc(pairs.expected_value), pairs.campaign_id],
    )
    best = pairs.mutate(_r=ibis.row_number().over(w)).filter(lambda p: p._r == 0).drop("_r")
    fmt_ev = best.expected_value.round(2).cast("string")
    quarter = quarter_of(month)
    reason = ibis.cases(
        (best.outcome == "selected",
         "channel " + best.channel + " (choice " + best.pass_no.cast("string") + "), expected value " + fmt_ev),
        (best.outcome == "control",
         ibis.literal("held out as control in segment ") + best.segment_id.fill_null("-")
         + " x risk decile " + best.decile.cast("string")),
        (best.outcome == "global_control", f"global control group {quarter}"),
        (best.outcome == "over_capacity", best.capacity_reason),
        (best.outcome == "lost_arbitration", "customer assigned to campaign " + best.winner),
        (best.outcome == "opted_out", "opted out of every channel of the campaign"),
        (best.outcome == "do_not_disturb", "do-not-disturb on every channel of the campaign"),
        (best.outcome == "cooling_down",
         "refused on " + best.last_refusal.cast("string") + f"; cool-down {policy.cooldown_days} days"),
        (best.outcome == "capped",
         best.contacts.cast("string") + f" contacts in {policy.window_days} days (cap {policy.max_contacts})"),
        else_=ibis.null("string"),
    )
    best = best.select(
        "subscriber_id", "campaign_id", "channel", decision=best.outcome,
        expected_value=best.expected_value.round(2), reason=reason,
    )
    base = profiles.select(subscriber_id=profiles.subscriber_id.cast("string"),
                           customer_id=profiles.customer_id.cast("string"))
    out = base.left_join(best, "subscriber_id").drop("subscriber_id_right")
    return out.select(
        "subscriber_id", "customer_id", "campaign_id", "channel",
        decision=out.decision.fill_null("not_eligible"),
        expected_value=out.expected_value,
        reason=out.reason.fill_null("matches no active campaign"),
    )
