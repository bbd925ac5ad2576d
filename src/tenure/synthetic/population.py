"""Who is in one chunk of the synthetic operator: customers, subscriptions, groups.

Everything is drawn once per chunk, vectorised, from the chunk's own random
generator; the monthly behaviour (``behaviour.py``) then reads these arrays.

Churn is decided here, as *episodes*: a cause (competitor offer, service
problems, contract ending, usage sliding, non-payment) starts in a month,
shows in the data for 1-3 months, and then the subscription leaves with a
probability that depends on the cause. Some subscriptions leave without an
episode (background churn with weak signs) and many episodes end without
churn, so the signs predict churn but not perfectly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tenure.domain.model import CHANNELS
from tenure.synthetic import catalog as cat
from tenure.synthetic.calendar import Window, zfill

NONE, COMPETITOR, SERVICE, CONTRACT_END, USAGE_SLIDE, NON_PAYMENT = range(6)
CAUSES = ("none", "competitor", "service", "contract_end", "usage_slide", "non_payment")
CHURN_TYPE_NAMES = ("voluntary", "port_out", "non_payment")
ARCHETYPES = ("new", "growing", "mature", "declining", "returning")
NEVER = 10_000  # a month index that never comes

# Probability that an episode of each cause ends in churn.
CHURN_PROB = np.array([0.0, 0.6, 0.5, 0.45, 0.55, 0.7])
# Churn type (voluntary, port_out, non_payment) by cause.
CHURN_TYPE_P = np.array([
    [0.55, 0.30, 0.15],
    [0.30, 0.70, 0.00],
    [0.60, 0.40, 0.00],
    [0.50, 0.50, 0.00],
    [0.85, 0.00, 0.15],
    [0.00, 0.00, 1.00],
])
EPISODE_HAZARD = 0.022  # per subscription and month, before segment multipliers
BACKGROUND_HAZARD = 0.003  # churn without an episode
NEW_ACTIVATION_RATE = 0.017  # of the chunk size, per month
RETURN_RATE = 0.12  # of voluntary / port-out churners who come back
MEMBER_SHARE = 0.035  # of initial subscriptions that belong to an enterprise group
CHUNK_ID_STRIDE = 10_000_000  # local ids per chunk inside the global id space


@dataclass
class Customers:
    ids: np.ndarray
    enterprise: np.ndarray
    name: np.ndarray
    id_number: np.ndarray
    region: np.ndarray
    city: np.ndarray
    birth_year: np.ndarray  # 0 = unknown
    female: np.ndarray
    join_day: np.ndarray
    vip: np.ndarray  # 0 none .. 3 diamond
    credit_limit: np.ndarray  # nan = none
    deposit: np.ndarray  # nan = none


@dataclass
class Subscriptions:
    cust: np.ndarray
    postpaid: np.ndarray
    region: np.ndarray
    city: np.ndarray
    act_day: np.ndarray
    act_t: np.ndarray
    young: np.ndarray
    base_arpu: np.ndarray
    trend: np.ndarray
    archetype: np.ndarray
    plan0: np.ndarray
    plan1: np.ndarray
    plan_change_t: np.ndarray
    base_mou: np.ndarray
    onnet_share: np.ndarray
    base_data: np.ndarray
    base_sms: np.ndarray
    roamer: np.ndarray
    bundle_tv: np.ndarray
    contract_kind: np.ndarray  # 0 none, 1 handset, 2 plan
    contract_start: np.ndarray
    contract_end: np.ndarray  # -1 none
    contract_value: np.ndarray
    renew_end: np.ndarray  # -1 = not renewed
    cause: np.ndarray
    ep_start: np.ndarray
    ep_len: np.ndarray
    churns: np.ndarray
    churn_t: np.ndarray
    churn_day: np.ndarray
    churn_type: np.ndarray
    churn_cause: np.ndarray
    channel_pref: np.ndarray
    effect_marketing: np.ndarray
    effect_service: np.ndarray
    returning: np.ndarray
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    msisdn: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))

    def __len__(self) -> int:
        return len(self.cust)


@dataclass
class Groups:
    ids: np.ndarray
    cust: np.ndarray
    name: np.ndarray
    group_class: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    headcount: np.ndarray
    account_manager: np.ndarray
    agreement_start: np.ndarray
    agreement_end: np.ndarray
    agreement_value: np.ndarray
    member_group: np.ndarray
    member_sub: np.ndarray
    member_key: np.ndarray
    member_title: np.ndarray
    member_joined: np.ndarray
    circuit_group: np.ndarray
    circuit_service: np.ndarray
    circuit_kbps: np.ndarray
    circuit_status: np.ndarray
    circuit_act_day: np.ndarray
    circuit_fee: np.ndarray
    circuit_one_off: np.ndarray


@dataclass(frozen=True)
class Response:
    """Churn fields of some subscriptions rewritten by their response to care, from month ``apply_t`` on.

    ``pos`` are positions in the chunk; the other arrays hold the new values
    (``churns`` False and ``churn_t`` NEVER for a subscription kept).
    """

    apply_t: int
    pos: np.ndarray
    churns: np.ndarray
    churn_t: np.ndarray
    churn_day: np.ndarray
    churn_type: np.ndarray
    churn_cause: np.ndarray


@dataclass
class Chunk:
    index: int
    window: Window
    customers: Customers
    subs: Subscriptions
    groups: Groups
    cache: dict = field(default_factory=dict)  # Arrow columns that do not change from month to month
    responses: list[Response] = field(default_factory=list)

    def applied(self, t: int) -> tuple[int, ...]:
        """Indices of the responses in force in month ``t``."""
        return tuple(i for i, r in enumerate(self.responses) if r.apply_t <= t)

    def subs_at(self, t: int) -> Subscriptions:
        """The subscriptions as month ``t`` sees them: the drawn churn, rewritten by responses in force.

        Responses are applied in the order they were added (plan month order),
        so a later plan acts on the outcome left by an earlier one.
        """
        key = self.applied(t)
        if not key:
            return self.subs
        cached = self.cache.get(("subs_at", key))
        if cached is None:
            s = self.subs
            cols = {name: getattr(s, name).copy()
                    for name in ("churns", "churn_t", "churn_day", "churn_type", "churn_cause")}
            for i in key:
                r = self.responses[i]
                for name, values in cols.items():
                    values[r.pos] = getattr(r, name)
            cached = self.cache[("subs_at", key)] = replace(s, **cols)
        return cached


def _ids(prefix: str, chunk: int, local: np.ndarray, width: int) -> np.ndarray:
    num = (chunk * CHUNK_ID_STRIDE + np.asarray(local, dtype="int64")).astype(str)
    return np.char.add(prefix, zfill(num, width)).astype(object)


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    sur = cat.SURNAMES[rng.integers(0, len(cat.SURNAMES), n)]
    g1 = cat.GIVEN[rng.integers(0, len(cat.GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.7, cat.GIVEN[rng.integers(0, len(cat.GIVEN), n)], "")
    return (sur + g1 + g2).astype(object)


def _cities(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    return cat.CITY_OFFSETS[region] + (rng.random(len(region)) * cat.CITY_COUNTS[region]).astype(int)


def _choose_rows(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One category per row from a row-wise probability matrix."""
    cdf = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cdf[:, -1]
    return np.minimum((u[:, None] > cdf).sum(axis=1), p.shape[1] - 1)


def _pick_plans(rng: np.random.Generator, postpaid: np.ndarray, young: np.ndarray,
                arpu: np.ndarray) -> np.ndarray:
    n = len(arpu)
    brand = np.full(n, "local", dtype=object)
    u = rng.random(n)
    brand[~postpaid & young & (u < 0.6)] = "youth"
    brand[postpaid & (u < 0.25)] = "family"
    brand[postpaid & (u >= 0.25) & (arpu > 110) & (rng.random(n) < 0.75)] = "premium"
    brand[postpaid & (brand == "local") & young & (rng.random(n) < 0.5)] = "youth"
    plan = np.zeros(n, dtype=int)
    for b in cat.BRANDS:
        for pay, mask_pay in (("prepaid", ~postpaid), ("postpaid", postpaid)):
            options = cat.plans_by_brand(b, pay)
            m = (brand == b) & mask_pay
            if not m.any():
                continue
            if len(options) == 0:  # no such combination: fall back to local plans
                options = cat.plans_by_brand("local", pay)
            fees = cat.PLAN_FEE[options]
            k = np.searchsorted(fees, arpu[m] * 1.05, side="right") - 1
            plan[m] = options[np.clip(k, 0, len(options) - 1)]
    return plan


def _neighbour_plan(plan: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The next dearer (step=1) or cheaper (step=-1) plan of the same brand and payment type."""
    out = plan.copy()
    for p in np.unique(plan):
        options = cat.plans_by_brand(cat.PLAN_BRAND[p], cat.PLAN_PAYMENT[p])
        pos = int(np.flatnonzero(options == p)[0])
        for s in (-1, 1):
            m = (plan == p) & (step == s)
            if 0 <= pos + s < len(options):
                out[m] = options[pos + s]
    return out


def make_subscriptions(rng: np.random.Generator, window: Window, cust: np.ndarray,
                       act_day: np.ndarray, birth_year: np.ndarray, region: np.ndarray,
                       returning: bool) -> Subscriptions:
    """Draw attributes, contracts, episodes and churn for a set of subscriptions."""
    n = len(cust)
    M = window.n
    w0 = int(window.start(0))
    act_t = window.index_of(act_day)
    age = (int(window.months[-1][:4]) - birth_year)
    young = (birth_year > 0) & (age < 30)
    postpaid = rng.random(n) < np.where(young, 0.35, 0.5)
    arpu = np.exp(rng.normal(np.where(postpaid, np.log(68.0), np.log(36.0)), 0.6))
    arpu = np.clip(arpu, 5.0, 3000.0)
    tenure_m = (w0 - act_day) / 30.4
    u = rng.random(n)
    arche = np.where(u < 0.15, 3, np.where(u < np.where(tenure_m < 24, 0.6, 0.3), 1, 2))
    trend = np.select([arche == 1, arche == 3], [rng.uniform(1.01, 1.04, n), rng.uniform(0.97, 0.99, n)],
                      rng.uniform(0.995, 1.005, n))
    arche = np.where(act_t >= 0, 0, arche)
    if returning:
        arche[:] = 4
    plan0 = _pick_plans(rng, postpaid, young, arpu)
    # One plan change at most in the window: upgrades for growing, downgrades for the rest.
    plan_change_t = np.full(n, NEVER)
    pc = rng.random(n) < 0.10
    plan_change_t[pc] = rng.integers(np.maximum(act_t[pc] + 1, 0), M + 1)
    step = np.where(arche == 1, 1, np.where(rng.random(n) < 0.5, 1, -1))
    plan1 = _neighbour_plan(plan0, step)

    base_mou = arpu * 4.5 * np.exp(rng.normal(0, 0.5, n))
    onnet_share = rng.beta(6, 3, n)
    base_data = np.exp(rng.normal(np.log(4000.0), 0.9, n)) * np.where(young, 1.8, 1.0)
    base_sms = np.exp(rng.normal(np.log(15.0), 0.8, n))
    roamer = rng.random(n) < 0.15
    bundle_tv = cat.PLAN_BUNDLE[plan0] & (rng.random(n) < 0.6)

    # Contracts: handset or plan contracts of 12 or 24 months.
    has_contract = rng.random(n) < np.where(postpaid, 0.45, 0.08)
    kind = np.where(has_contract, np.where(rng.random(n) < 0.6, 1, 2), 0)
    dur = np.where(rng.random(n) < 0.5, 12, 24)
    # Contracts start at activation, or later for long-standing subscriptions.
    start_back = (rng.random(n) * dur * 30.4).astype("int64")
    c_start = np.where(act_t >= 0, act_day, np.maximum(act_day, w0 - start_back))
    c_start_t = window.index_of(c_start)
    c_end = window.start(c_start_t + dur) + (c_start - window.start(c_start_t)) - 1
    c_end = np.where(has_contract, c_end, -1)
    c_value = np.where(has_contract, np.round(cat.PLAN_FEE[plan0] * dur * np.where(kind == 1, 1.3, 1.0), 2), 0.0)
    end_t = np.where(has_contract, window.index_of(np.maximum(c_end, 0)), NEVER)
    ends_in_window = has_contract & (end_t >= 0) & (end_t <= M - 1)
    renews = ends_in_window & (rng.random(n) < 0.5)
    renew_end = np.where(renews, window.start(end_t + 1 + dur) + (c_end - window.start(end_t)), -1)

    # Episodes.
    mult = np.where(postpaid, 0.8, 1.3) * np.where(cat.PLAN_PREMIUM[plan0], 0.6, 1.0)
    mult = mult * np.where(tenure_m < 12, 1.4, 1.0)
    first = np.maximum(act_t + 1, -2)
    start = first + rng.geometric(np.clip(EPISODE_HAZARD * mult, 1e-4, 0.5)) - 1
    cause_p = np.tile(np.array([0.0, 0.32, 0.25, 0.0, 0.23, 0.20]), (n, 1))
    cause_p[postpaid, NON_PAYMENT] = 0.12
    cause_p[~postpaid, COMPETITOR] = 0.36
    cause = np.where(start <= M - 1, _choose_rows(rng, cause_p), NONE)
    ep_len = rng.integers(1, 4, n)
    churns = (cause != NONE) & (rng.random(n) < CHURN_PROB[cause])
    churn_t = np.where(churns, start + ep_len, NEVER)
    churns &= (churn_t >= 0) & (churn_t <= M - 1)
    churn_t = np.where(churns, churn_t, NEVER)
    churn_day = window.start(np.minimum(churn_t, M)) + (rng.random(n) * window.days(np.minimum(churn_t, M))).astype("int64")

    # Contract ending: leave within 20 days after the end date, unless renewed.
    ce = ends_in_window & ~renews & (rng.random(n) < 0.45)
    ce_day = c_end + rng.integers(1, 21, n)
    ce_t = window.index_of(ce_day)
    ce &= (ce_t <= M - 1) & (ce_day < np.where(churns, churn_day, np.iinfo("int64").max))
    cause = np.where(ce, CONTRACT_END, cause)
    start = np.where(ce, end_t - 1, start)
    ep_len = np.where(ce, ce_t - (end_t - 1), ep_len)
    churns |= ce
    churn_t = np.where(ce, ce_t, churn_t)
    churn_day = np.where(ce, ce_day, churn_day)
    churn_type = np.where(churns, _choose_rows(rng, CHURN_TYPE_P[cause]), -1)
    churn_cause = np.where(churns, cause, -1)

    # Background churn with weak signs.
    bg_t = first + rng.geometric(BACKGROUND_HAZARD, n) - 1
    bg = ~churns & (bg_t >= 0) & (bg_t <= M - 1)
    bg_day = window.start(np.clip(bg_t, 0, M - 1)) + (rng.random(n) * window.days(np.clip(bg_t, 0, M - 1))).astype("int64")
    churns |= bg
    churn_t = np.where(bg, bg_t, churn_t)
    churn_day = np.where(bg, bg_day, churn_day)
    churn_type = np.where(bg, _choose_rows(rng, CHURN_TYPE_P[np.zeros(n, dtype=int)]), churn_type)
    churn_cause = np.where(bg, NONE, churn_cause)
    # A subscription never leaves before the day after it was activated.
    churn_day = np.where(churns, np.maximum(churn_day, act_day + 1), churn_day)
    churn_t = np.where(churns, window.index_of(churn_day), NEVER)
    late = churns & (churn_t > M - 1)
    churns &= ~late
    churn_t[late] = NEVER

    # Hidden channel preference: older people prefer stores and the hotline.
    older = np.clip((age - 20) / 50.0, 0, 1)[:, None]
    young_alpha = np.array([0.6, 0.8, 0.4, 1.2, 1.0, 1.8, 1.0])
    old_alpha = np.array([2.5, 2.0, 1.0, 0.3, 0.8, 0.2, 0.6])
    alpha = (1 - older) * young_alpha + older * old_alpha
    pref = rng.standard_gamma(alpha * 0.8) + 1e-6
    pref = pref / pref.sum(axis=1, keepdims=True)
    assert pref.shape[1] == len(CHANNELS)

    # Hidden response to care: most near 0, some persuadable (< 0), a few sleeping dogs (> 0).
    # An effect is the change in the probability of leaving within three months
    # of being treated (see ``tenure.synthetic.response``). Marketing care helps
    # those a competitor courts or whose usage slides, does little for most and
    # wakes customers quietly sitting on a contract, who then look around and leave.
    eff_m = rng.normal(0, 0.004, n)
    pers_m = rng.random(n) < np.where(np.isin(cause, (COMPETITOR, USAGE_SLIDE)), 0.45, np.where(young, 0.14, 0.08))
    eff_m = np.where(pers_m, -rng.uniform(0.10, 0.45, n), eff_m)
    dog_m = ~pers_m & (rng.random(n) < np.where(cause == CONTRACT_END, 0.10, np.where(
        has_contract, 0.12, np.where(~postpaid, 0.04, 0.02))))
    eff_m = np.where(dog_m, rng.uniform(0.05, 0.20, n), eff_m)
    eff_s = rng.normal(0, 0.004, n)
    # Service care helps those with service problems and wakes a few who owe money.
    pers_s = rng.random(n) < np.where(cause == SERVICE, 0.50, np.where(arpu > 100, 0.15, 0.07))
    eff_s = np.where(pers_s, -rng.uniform(0.10, 0.45, n), eff_s)
    dog_s = ~pers_s & (rng.random(n) < np.where(cause == NON_PAYMENT, 0.06, 0.015))
    eff_s = np.where(dog_s, rng.uniform(0.03, 0.12, n), eff_s)

    city = np.where(rng.random(n) < 0.9, -1, _cities(rng, region))
    return Subscriptions(
        cust=cust, postpaid=postpaid, region=region, city=city, act_day=act_day, act_t=act_t,
        young=young, base_arpu=arpu, trend=trend, archetype=arche, plan0=plan0, plan1=plan1,
        plan_change_t=plan_change_t, base_mou=base_mou, onnet_share=onnet_share,
        base_data=base_data, base_sms=base_sms, roamer=roamer, bundle_tv=bundle_tv,
        contract_kind=kind, contract_start=np.where(has_contract, c_start, -1), contract_end=c_end,
        contract_value=c_value, renew_end=renew_end, cause=cause, ep_start=start, ep_len=ep_len,
        churns=churns, churn_t=churn_t, churn_day=churn_day, churn_type=churn_type,
        churn_cause=churn_cause, channel_pref=pref, effect_marketing=eff_m, effect_service=eff_s,
        returning=np.full(n, returning),
    )


def _concat(a: Subscriptions, b: Subscriptions) -> Subscriptions:
    kw = {}
    for name in a.__dataclass_fields__:
        kw[name] = np.concatenate([getattr(a, name), getattr(b, name)])
    return Subscriptions(**kw)


def build_chunk(seed: int, index: int, size: int, window: Window) -> Chunk:
    """Draw every customer, subscription and group of chunk ``index``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    M = window.n
    w0 = int(window.start(0))

    # Initial subscriptions, grouped into customers of 1-3 subscriptions.
    sizes = rng.choice([1, 2, 3], size=size, p=[0.78, 0.16, 0.06])
    ends = np.cumsum(sizes)
    n_cust0 = int(np.searchsorted(ends, size) + 1)
    cust0 = np.repeat(np.arange(n_cust0), sizes[:n_cust0])[:size]
    # New activations each month: mostly new customers, some extra lines for existing ones.
    k_new = rng.binomial(size, NEW_ACTIVATION_RATE, M)
    n_new = int(k_new.sum())
    new_t = np.repeat(np.arange(M), k_new)
    existing = rng.random(n_new) < 0.12
    cust_new = np.where(existing, rng.integers(0, n_cust0, n_new), n_cust0 + np.cumsum(~existing) - 1)
    n_ind = n_cust0 + int((~existing).sum())

    # Individual customers.
    region = rng.choice(len(cat.REGIONS), n_ind, p=cat.REGION_WEIGHTS)
    birth = rng.integers(1950, 2006, n_ind)
    tenure_days = np.minimum(rng.exponential(36 * 30.4, size), 20 * 365).astype("int64") + 1
    act0 = w0 - tenure_days
    act_new = window.start(new_t) + (rng.random(n_new) * window.days(new_t)).astype("int64")
    sub_cust = np.concatenate([cust0, cust_new])
    act = np.concatenate([act0, act_new])
    subs = make_subscriptions(rng, window, sub_cust, act, birth[sub_cust], region[sub_cust], False)

    # Returns: some who left voluntarily or by porting out come back as a new subscription.
    back = subs.churns & (subs.churn_type < 2) & (rng.random(len(subs)) < RETURN_RATE)
    back_t = subs.churn_t + rng.integers(1, 5, len(subs))
    back &= back_t <= M - 1
    if back.any():
        bt = back_t[back]
        bact = window.start(bt) + (rng.random(len(bt)) * window.days(bt)).astype("int64")
        bact = np.maximum(bact, subs.churn_day[back] + 1)
        bcust = subs.cust[back]
        rsubs = make_subscriptions(rng, window, bcust, bact, birth[bcust], region[bcust], True)
        subs = _concat(subs, rsubs)
    ns = len(subs)
    city_c = _cities(rng, region)
    subs.city = np.where(subs.city < 0, city_c[subs.cust], subs.city)

    # Enterprise groups: members are individual subscriptions active at the window start.
    eligible = np.flatnonzero(subs.act_t < 0)
    n_members = int(len(eligible) * MEMBER_SHARE)
    n_groups = max(1, n_members // 18)
    g_class = rng.choice(4, n_groups, p=[0.05, 0.15, 0.35, 0.45])
    g_region = rng.choice(len(cat.REGIONS), n_groups, p=cat.REGION_WEIGHTS)
    member_sub = np.sort(rng.choice(eligible, n_members, replace=False)) if n_members else np.empty(0, int)
    weight = np.array([80.0, 35.0, 14.0, 6.0])[g_class]
    member_group = np.empty(len(member_sub), dtype=int)
    for r in range(len(cat.REGIONS)):
        in_r = subs.region[member_sub] == r
        gs = np.flatnonzero(g_region == r)
        if len(gs) == 0:
            gs = np.arange(n_groups)
        member_group[in_r] = rng.choice(gs, int(in_r.sum()), p=weight[gs] / weight[gs].sum())
    order = np.lexsort((member_sub, member_group))
    member_sub, member_group = member_sub[order], member_group[order]
    first_of_group = np.r_[True, member_group[1:] != member_group[:-1]]
    pos = np.arange(len(member_group)) - np.maximum.accumulate(np.where(first_of_group, np.arange(len(member_group)), 0))
    n_key = rng.integers(1, 4, n_groups)
    member_key = pos < n_key[member_group]
    member_title = np.where(member_key, cat.KEY_PERSON_TITLES[rng.integers(0, len(cat.KEY_PERSON_TITLES), len(member_sub))], None)
    sa = subs.act_day[member_sub]
    member_joined = sa + (rng.random(len(member_sub)) * (w0 - sa)).astype("int64")

    industry = rng.choice(len(cat.INDUSTRIES), n_groups, p=cat.INDUSTRY_WEIGHTS)
    gname = (cat.REGION_CN[g_region] + cat.GROUP_WORDS[rng.integers(0, len(cat.GROUP_WORDS), n_groups)]
             + cat.INDUSTRY_SUFFIX[industry]).astype(object)
    lo = np.array([1000, 300, 50, 5])[g_class]
    hi = np.array([20000, 3000, 500, 100])[g_class]
    headcount = (lo * np.exp(rng.random(n_groups) * np.log(hi / lo))).astype("int64")
    am = np.char.add(np.char.add("am", zfill(g_region.astype(str), 2)),
                     zfill(rng.integers(1, 40, n_groups).astype(str), 3)).astype(object)
    ag_start = w0 - (rng.random(n_groups) * 24 * 30.4).astype("int64")
    ag_dur = rng.choice([12, 24, 36], n_groups)
    ag_start_t = window.index_of(ag_start)
    ag_end = window.start(ag_start_t + ag_dur) + (ag_start - window.start(ag_start_t)) - 1
    ag_value = np.round(headcount * rng.uniform(30, 80, n_groups) * ag_dur / 12.0, 2)

    # Circuits for some enterprise customers, more for the big classes.
    n_circ = np.where(rng.random(n_groups) < np.array([0.8, 0.5, 0.25, 0.08])[g_class], rng.integers(1, 4, n_groups), 0)
    n_circ[0] = max(n_circ[0], 1)  # every chunk has at least one circuit
    circuit_group = np.repeat(np.arange(n_groups), n_circ)
    nc = len(circuit_group)
    circuit_service = rng.choice(3, nc, p=[0.6, 0.25, 0.15])
    kbps_opts = np.array([2048, 10240, 51200, 102400, 1048576])
    kbps = kbps_opts[rng.choice(5, nc, p=[0.3, 0.3, 0.2, 0.15, 0.05])]
    c_status = rng.choice(3, nc, p=[0.04, 0.91, 0.05])
    c_act = np.where(c_status == 0, -1, w0 - (rng.random(nc) * 5 * 365).astype("int64"))
    c_fee = np.round(200 + kbps / 1024 * rng.uniform(8, 15, nc), 2)
    c_one_off = np.round(rng.choice([0.0, 500.0, 1000.0, 3000.0], nc), 2)

    # Enterprise customers come after the individual ones.
    n_cust = n_ind + n_groups
    g_cust = np.arange(n_ind, n_cust)
    enterprise = np.r_[np.zeros(n_ind, bool), np.ones(n_groups, bool)]
    join = np.full(n_cust, np.iinfo("int64").max)
    np.minimum.at(join, subs.cust, subs.act_day)
    join[n_ind:] = w0 - (rng.random(n_groups) * 15 * 365).astype("int64") - 400
    join[n_ind:] = np.minimum(join[n_ind:], ag_start)
    # VIP cards for the top spenders among individuals.
    spend = np.zeros(n_cust)
    np.add.at(spend, subs.cust, subs.base_arpu)
    vip = np.zeros(n_cust, dtype=int)
    if n_ind > 10:
        q90, q96, q99 = np.quantile(spend[:n_ind], [0.90, 0.96, 0.99])
        vip[:n_ind] = np.select([spend[:n_ind] >= q99, spend[:n_ind] >= q96, spend[:n_ind] >= q90], [3, 2, 1], 0)
    cust_postpaid = np.zeros(n_cust, bool)
    np.logical_or.at(cust_postpaid, subs.cust, subs.postpaid)
    credit = np.where(cust_postpaid, np.round(np.select([vip == 3, vip == 2, vip == 1], [5000.0, 2000.0, 1000.0], 300.0), 2), np.nan)
    credit[n_ind:] = np.round(headcount * 50.0, 2)
    deposit = np.where(rng.random(n_cust) < 0.05, 100.0, np.nan)
    cname = np.concatenate([_names(rng, n_ind), gname])
    idn_ind = np.char.add(np.char.add("35", zfill(rng.integers(0, 10**4, n_ind).astype(str), 4)),
                          np.char.add(birth.astype(str), zfill(rng.integers(0, 10**8, n_ind).astype(str), 8)))
    idn_ent = np.char.add("91350", zfill(rng.integers(0, 10**13, n_groups).astype(str), 13))
    id_number = np.concatenate([idn_ind.astype(object), idn_ent.astype(object)])
    id_number[rng.random(n_cust) < 0.03] = None
    customers = Customers(
        ids=_ids("C", index, np.arange(n_cust), 11),
        enterprise=enterprise,
        name=cname,
        id_number=id_number,
        region=np.r_[region, g_region],
        city=np.r_[city_c, _cities(rng, g_region)],
        birth_year=np.r_[birth, np.zeros(n_groups, int)],
        female=np.r_[rng.random(n_ind) < 0.49, np.zeros(n_groups, bool)],
        join_day=join,
        vip=vip,
        credit_limit=credit,
        deposit=deposit,
    )
    subs.ids = _ids("S", index, np.arange(ns), 11)
    local = (index * CHUNK_ID_STRIDE + np.arange(ns)).astype("int64")
    prefix = cat.MSISDN_PREFIXES[rng.integers(0, len(cat.MSISDN_PREFIXES), ns)]
    # An odd multiplier modulo 10**8 is a bijection, so numbers are unique per prefix.
    suffix = (local * 48271 + 12345) % 10**8
    subs.msisdn = (prefix * 10**8 + suffix).astype(str).astype(object)
    groups = Groups(
        ids=_ids("G", index, np.arange(n_groups), 9), cust=g_cust, name=gname,
        group_class=np.array(["A", "B", "C", "D"], dtype=object)[g_class],
        industry=cat.INDUSTRIES[industry], region=g_region, headcount=headcount, account_manager=am,
        agreement_start=ag_start, agreement_end=ag_end, agreement_value=ag_value,
        member_group=member_group, member_sub=member_sub, member_key=member_key,
        member_title=member_title, member_joined=member_joined,
        circuit_group=circuit_group, circuit_service=circuit_service, circuit_kbps=kbps,
        circuit_status=c_status, circuit_act_day=c_act, circuit_fee=c_fee, circuit_one_off=c_one_off,
    )
    return Chunk(index=index, window=window, customers=customers, subs=subs, groups=groups)
