"""Turn one chunk into the canonical tables of one month (and the daily table).

Each month draws its noise from its own generator seeded by (seed, chunk,
month), so a month's data does not depend on the order months are written.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.domain.model import (
    CHANNELS,
    CHURN_TYPES,
    CIRCUIT_SERVICES,
    TABLES,
    VIP_CARDS,
    ColumnType,
)
from tenure.synthetic import catalog as cat
from tenure.synthetic.calendar import day_text, second_text
from tenure.synthetic.population import (
    COMPETITOR,
    CONTRACT_END,
    NON_PAYMENT,
    SERVICE,
    USAGE_SLIDE,
    Chunk,
)

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.STRING: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.MONEY: pa.float64(),
    ColumnType.FLOAT: pa.float64(),
    # Dates and times are written as text in both formats, as the operator's files deliver them.
    ColumnType.DATE: pa.string(),
    ColumnType.TIMESTAMP: pa.string(),
    ColumnType.MONTH: pa.string(),
    ColumnType.BOOL: pa.bool_(),
}
SCHEMAS: dict[str, pa.Schema] = {
    name: pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in spec.columns])
    for name, spec in TABLES.items()
}
DAY = 86_400
TABLE_NO = {name: i for i, name in enumerate(TABLES)}


def canonical_table(name: str, cols: dict[str, object]) -> pa.Table:
    """An Arrow table of canonical table ``name`` from column values (None / NaN = empty)."""
    schema = SCHEMAS[name]
    arrays = []
    for f in schema:
        v = cols[f.name]
        if isinstance(v, (pa.Array, pa.ChunkedArray)):
            arrays.append(v if v.type == f.type else v.cast(f.type))
        else:
            arrays.append(pa.array(v, type=f.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string(), from_pandas=True)


def _opt_days(day: np.ndarray) -> pa.Array:
    """Date text, empty where ``day`` is negative."""
    day = np.asarray(day)
    return day_text(np.maximum(day, 0), missing=day < 0)


def _fact_ids(prefix: str, month: str, chunk: int, n: int) -> pa.Array:
    seq = pa.array(chunk * 10**8 + np.arange(n, dtype="int64")).cast(pa.string())
    return pc.binary_join_element_wise(prefix + month.replace("-", ""), pc.utf8_lpad(seq, 11, "0"), "")


def _prefixed(prefix: str, ids: pa.Array, strip: int) -> pa.Array:
    """``prefix`` + ``ids`` without their first ``strip`` characters."""
    return pc.binary_join_element_wise(prefix, pc.utf8_slice_codeunits(ids, strip), "")


def _events(rng: np.random.Generator, counts: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (positions into ``counts``) and second timestamps of each event, uniform in [lo, hi) days."""
    rows = np.repeat(np.arange(len(counts)), counts)
    span = (hi[rows] - lo[rows]) * DAY
    sec = lo[rows] * DAY + (rng.random(len(rows)) * span).astype("int64")
    order = np.lexsort((sec, rows))
    return rows[order], sec[order]


class MonthState:
    """Per-subscription quantities of one month for the subscriptions with usage in it."""

    def __init__(self, chunk: Chunk, t: int, seed: int) -> None:
        self.chunk, self.t, self.seed = chunk, t, seed
        rng = np.random.default_rng(np.random.SeedSequence([seed, chunk.index, t, 1]))
        # The churn fields as this month sees them (responses to care in force rewrite them).
        self.subs = chunk.subs_at(t)
        s, W = self.subs, chunk.window
        self.month = W.months[t]
        self.ms = ms = int(W.start(t))
        self.md = md = int(W.days(t))
        me = ms + md
        self.exists = s.act_day < me
        alive = self.exists & (~s.churns | (s.churn_t >= t))
        self.idx = idx = np.flatnonzero(alive)
        n = len(idx)
        self.lo = np.maximum(s.act_day[idx], ms)
        self.hi = np.where(s.churns[idx] & (s.churn_t[idx] == t), s.churn_day[idx], me)
        self.hi = np.maximum(self.hi, self.lo)
        frac = (self.hi - self.lo) / md
        cause = s.cause[idx]
        k = t - s.ep_start[idx] + 1
        in_ep = (cause > 0) & (k >= 1) & (k <= s.ep_len[idx])
        self.in_ep = in_ep
        self.ep = lambda c: in_ep & (cause == c)
        last_ep_month = in_ep & (k == s.ep_len[idx])
        self.last_ep_month = last_ep_month
        plan = np.where(t >= s.plan_change_t[idx], s.plan1[idx], s.plan0[idx])
        self.plan = plan
        fee_ratio = cat.PLAN_FEE[plan] / cat.PLAN_FEE[s.plan0[idx]]
        age = t - np.maximum(s.act_t[idx], 0)
        level = s.base_arpu[idx] * s.trend[idx] ** age * fee_ratio
        mult = np.ones(n)
        slide = self.ep(USAGE_SLIDE)
        mult = np.where(slide, 0.72 ** np.clip(k, 0, 3) * rng.uniform(0.96, 1.04, n), mult)
        mult = np.where(self.ep(COMPETITOR), 0.92, mult)
        mult = np.where(self.ep(SERVICE), 0.97, mult)
        prepaid = ~s.postpaid[idx]
        mult = np.where(self.ep(NON_PAYMENT) & prepaid, 0.6 ** np.clip(k, 0, 3), mult)
        # Background leavers fade a little in their last month: a weak sign.
        weak = s.churns[idx] & (s.churn_cause[idx] == 0) & (s.churn_t[idx] - t == 1) & (rng.random(n) < 0.5)
        mult = np.where(weak, 0.9, mult)
        noise = np.where(slide, 1.0, np.exp(rng.normal(0, 0.08, n)))
        self.revenue = rev = np.round(np.clip(level * mult * noise * frac, 0, 90000), 2)
        usage_mult = mult * frac * np.exp(rng.normal(0, 0.12, n))
        mou = np.clip(s.base_mou[idx] * usage_mult, 0, 20000)
        self.mou = mou = np.round(mou, 1)
        on_share = s.onnet_share[idx] * np.where(self.ep(COMPETITOR), rng.uniform(0.45, 0.7, n), 1.0)
        off_share = (1 - on_share) * rng.uniform(0.88, 0.97, n)
        self.onnet = np.floor(mou * on_share * 10) / 10
        self.offnet = np.floor(mou * off_share * 10) / 10
        self.data = np.round(np.clip(s.base_data[idx] * usage_mult, 0, 5_000_000), 1)
        self.sms = np.minimum(rng.poisson(s.base_sms[idx] * usage_mult), 50_000)
        self.roaming = np.round(np.where(s.roamer[idx], mou * rng.uniform(0, 0.15, n), 0.0), 1)
        nonpay = self.ep(NON_PAYMENT)
        recharging = prepaid & ~nonpay & (frac > 0)
        self.recharge_count = np.where(recharging, rng.poisson(1.2, n) + 1, 0)
        self.recharge_amount = np.where(
            recharging, np.round(np.maximum(rev * rng.uniform(0.9, 1.3, n), 10) / 10) * 10, 0.0)
        base_arrears = s.postpaid[idx] & (rng.random(n) < 0.04)
        arrears = np.where(base_arrears, rev * rng.uniform(0.2, 1.0, n), 0.0)
        arrears = np.where(nonpay & ~prepaid, level * np.clip(k, 1, 4) * rng.uniform(0.9, 1.1, n), arrears)
        self.arrears = np.round(np.clip(arrears, 0, 90000), 2)
        comp = self.ep(COMPETITOR)
        self.cs_calls = np.minimum(rng.poisson(np.where(comp, 1.2 + 0.8 * k, 0.04)), 900)
        ip = np.where(comp & (rng.random(n) < 0.6), np.exp(rng.normal(np.log(45.0), 0.6, n)), 0.0)
        ip = np.where(~comp & (rng.random(n) < 0.02), rng.uniform(1, 15, n), ip)
        self.ip_spend = np.round(ip, 2)
        self.bundle_bb = cat.PLAN_BUNDLE[plan]
        self.bundle_tv = s.bundle_tv[idx] & self.bundle_bb
        self.active_days = self.hi - self.lo

    def sub_ids(self, positions: np.ndarray) -> pa.Array:
        """Subscriber ids at ``positions`` of the chunk (an Arrow take, no Python strings)."""
        cache = self.chunk.cache
        if "sub_ids" not in cache:
            cache["sub_ids"] = _text(self.subs.ids)
        return cache["sub_ids"].take(pa.array(positions, type=pa.int64()))

    def table_rng(self, name: str) -> np.random.Generator:
        """A generator of its own per table, so tables can be written in any order."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, self.chunk.index, self.t, 2, TABLE_NO[name]]))

    # Fact tables -----------------------------------------------------------------

    def monthly_usage(self) -> pa.Table:
        return canonical_table("monthly_usage", {
            "month": pa.repeat(pa.scalar(self.month), len(self.idx)),
            "subscriber_id": self.sub_ids(self.idx),
            "revenue": self.revenue, "mou": self.mou, "mou_onnet": self.onnet, "mou_offnet": self.offnet,
            "data_mb": self.data, "sms": self.sms, "roaming_mou": self.roaming,
            "recharge_count": self.recharge_count, "recharge_amount": self.recharge_amount,
            "arrears": self.arrears, "bundle_broadband": self.bundle_bb, "bundle_tv": self.bundle_tv,
            "other_op_cs_calls": self.cs_calls, "other_op_ip_spend": self.ip_spend,
        })

    def complaints(self) -> pa.Table:
        rng = self.table_rng("complaints")
        n = len(self.idx)
        svc = self.ep(SERVICE)
        lam = np.where(svc, 1.3, 0.015) + np.where(self.ep(NON_PAYMENT), 0.1, 0.0)
        counts = np.where(self.active_days > 0, rng.poisson(lam), 0)
        rows, sec = _events(rng, counts, self.lo, self.hi)
        m = len(rows)
        p_svc = np.array([0.5, 0.15, 0.3, 0.05, 0.0])
        p_base = np.array([0.25, 0.3, 0.2, 0.15, 0.1])
        u = rng.random(m)
        cdf = np.where(svc[rows][:, None], np.cumsum(p_svc), np.cumsum(p_base))
        category = np.minimum((u[:, None] > cdf).sum(axis=1), 4)
        cats = np.array(["network", "billing", "service", "product", "other"], dtype=object)
        severity = rng.choice([1, 2, 3], m, p=[0.7, 0.22, 0.08])
        resolved = sec + (rng.exponential(36 * 3600, m)).astype("int64") + 600
        res = second_text(resolved, missing=rng.random(m) < 0.05)
        del n
        return canonical_table("complaints", {
            "complaint_id": _fact_ids("CP", self.month, self.chunk.index, m),
            "subscriber_id": self.sub_ids(self.idx[rows]),
            "created_at": second_text(sec),
            "category": cats[category], "severity": severity, "resolved_at": res,
        })

    def service_orders(self) -> pa.Table:
        rng, s, t = self.table_rng("service_orders"), self.subs, self.t
        idx = self.idx
        n = len(idx)
        ok = self.active_days > 0
        kinds: list[tuple[np.ndarray, str]] = []
        kinds.append((np.where(ok, rng.poisson(np.where(self.ep(SERVICE), 0.9, 0.02)), 0), "fault"))
        inquiry = (self.ep(COMPETITOR) & self.last_ep_month & (rng.random(n) < 0.45)) | (
            self.ep(CONTRACT_END) & (rng.random(n) < 0.25)) | (rng.random(n) < 0.002)
        kinds.append(((inquiry & ok).astype(int), "port_out_inquiry"))
        change = (s.plan_change_t[idx] == t) & ok
        kinds.append((change.astype(int), "plan_change"))
        leaving_now = s.churns[idx] & (s.churn_t[idx] == t)
        cancel = (leaving_now & (s.churn_type[idx] == 0) & (rng.random(n) < 0.7)) | (rng.random(n) < 0.002)
        kinds.append(((cancel & ok).astype(int), "cancellation"))
        kinds.append(((ok & (rng.random(n) < 0.01)).astype(int), "new_service"))
        suspend = s.churns[idx] & (s.churn_type[idx] == 2) & (s.churn_t[idx] - t == 1)
        kinds.append(((suspend & ok).astype(int), "suspension"))
        all_rows, all_sec, all_kind = [], [], []
        for counts, kind in kinds:
            rows, sec = _events(rng, counts, self.lo, self.hi)
            all_rows.append(rows)
            all_sec.append(sec)
            all_kind.append(np.full(len(rows), kind, dtype=object))
        rows = np.concatenate(all_rows)
        sec = np.concatenate(all_sec)
        kind = np.concatenate(all_kind)
        order = np.lexsort((sec, rows))
        rows, sec, kind = rows[order], sec[order], kind[order]
        m = len(rows)
        is_change = kind == "plan_change"
        from_plan = np.where(is_change, cat.PLAN_IDS[s.plan0[idx[rows]]], None)
        to_plan = np.where(is_change, cat.PLAN_IDS[s.plan1[idx[rows]]], None)
        hours = np.where(kind == "fault", 48, 24)
        closed = sec + (rng.exponential(1.0, m) * hours * 3600).astype("int64") + 300
        closed_s = second_text(closed, missing=(kind == "fault") & (rng.random(m) < 0.06))
        return canonical_table("service_orders", {
            "order_id": _fact_ids("OR", self.month, self.chunk.index, m),
            "subscriber_id": self.sub_ids(idx[rows]), "created_at": second_text(sec),
            "kind": kind, "from_plan": from_plan, "to_plan": to_plan, "closed_at": closed_s,
        })

    def channel_contacts(self) -> pa.Table:
        rng, s = self.table_rng("channel_contacts"), self.subs
        idx = self.idx
        lam_in = 0.35 + 1.2 * self.ep(SERVICE) + 0.4 * self.ep(COMPETITOR) + 0.3 * self.ep(NON_PAYMENT)
        n_in = np.where(self.active_days > 0, rng.poisson(lam_in), 0)
        n_out = np.where(self.active_days > 0, rng.poisson(0.08, len(idx)), 0)
        counts = n_in + n_out
        rows, sec = _events(rng, counts, self.lo, self.hi)
        m = len(rows)
        # The first n_in events of a subscription are inbound: rank within the subscription.
        starts = np.r_[0, np.cumsum(counts)[:-1]]
        rank = np.arange(m) - starts[rows]
        inbound = rank < n_in[rows]
        pref = s.channel_pref[idx[rows]]
        cdf = np.cumsum(pref, axis=1)
        u = rng.random(m)[:, None]
        channel = np.minimum((u > cdf).sum(axis=1), len(CHANNELS) - 1)
        fault_heavy = self.ep(SERVICE)[rows]
        p_in = np.where(fault_heavy[:, None], [0.2, 0.1, 0.1, 0.6], [0.35, 0.25, 0.2, 0.2])
        purpose_in = np.minimum((rng.random(m)[:, None] > np.cumsum(p_in, axis=1)).sum(axis=1), 3)
        purpose = np.where(inbound, np.array(["inquiry", "billing", "order", "fault"], dtype=object)[purpose_in],
                           np.where(rng.random(m) < 0.5, "care", "marketing"))
        return canonical_table("channel_contacts", {
            "contact_id": _fact_ids("CT", self.month, self.chunk.index, m),
            "subscriber_id": self.sub_ids(idx[rows]), "contacted_at": second_text(sec),
            "channel": np.array(CHANNELS, dtype=object)[channel],
            "direction": np.where(inbound, "inbound", "outbound").astype(object), "purpose": purpose,
        })

    def satisfaction_surveys(self) -> pa.Table:
        rng = self.table_rng("satisfaction_surveys")
        n = len(self.idx)
        sampled = np.flatnonzero((rng.random(n) < 0.04) & (self.active_days > 0))
        m = len(sampled)
        day = self.lo[sampled] + (rng.random(m) * self.active_days[sampled]).astype("int64")
        svc = self.ep(SERVICE)[sampled]
        comp = self.ep(COMPETITOR)[sampled]
        score = np.clip(np.round(rng.normal(8.0, 1.4, m) - 3.0 * svc - 0.7 * comp), 1, 10).astype(int)
        topics = np.array(["overall", "network", "service", "billing"], dtype=object)
        topic = np.where(svc, topics[rng.choice([1, 2], m)], topics[rng.choice(4, m, p=[0.5, 0.2, 0.15, 0.15])])
        return canonical_table("satisfaction_surveys", {
            "survey_id": _fact_ids("SV", self.month, self.chunk.index, m),
            "subscriber_id": self.sub_ids(self.idx[sampled]), "surveyed_on": day_text(day),
            "score": score, "topic": topic,
        })

    def daily_usage(self) -> Iterator[pa.Table]:
        """Rows of each day of the month for the subscriptions active that day."""
        rng = self.table_rng("daily_usage")
        n, md = len(self.idx), self.md
        day_no = self.ms + np.arange(md)
        active = (day_no[None, :] >= self.lo[:, None]) & (day_no[None, :] < self.hi[:, None])
        w = rng.gamma(4.0, 1.0, (n, md)).astype("float32") * active
        tot = w.sum(axis=1, keepdims=True)
        w = np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)
        off_ratio = np.divide(self.offnet, self.mou, out=np.zeros(n), where=self.mou > 0)
        # Discrete events (top-ups, calls to other operators) land on random active days.
        calls = np.zeros((n, md), dtype="int64")
        ok = self.active_days > 0
        cr = np.repeat(np.arange(n), np.where(ok, self.cs_calls, 0))
        np.add.at(calls, (cr, self.lo[cr] - self.ms + (rng.random(len(cr)) * self.active_days[cr]).astype("int64")), 1)
        top = np.zeros((n, md))
        rr = np.repeat(np.arange(n), np.where(ok, self.recharge_count, 0))
        amount_each = np.divide(self.recharge_amount, self.recharge_count, out=np.zeros(n), where=self.recharge_count > 0)
        np.add.at(top, (rr, self.lo[rr] - self.ms + (rng.random(len(rr)) * self.active_days[rr]).astype("int64")), amount_each[rr])
        for d in range(md):
            rows = np.flatnonzero(active[:, d])
            wd = w[rows, d].astype("float64")
            mou = np.round(np.minimum(self.mou[rows] * wd, 1440.0), 1)
            yield canonical_table("daily_usage", {
                "date": day_text(np.full(len(rows), day_no[d])),
                "subscriber_id": self.sub_ids(self.idx[rows]),
                "revenue": np.round(np.minimum(self.revenue[rows] * wd, 9000), 2),
                "mou": mou,
                "mou_offnet": np.floor(mou * off_ratio[rows] * 10) / 10,
                "data_mb": np.round(np.minimum(self.data[rows] * wd, 900_000), 1),
                "sms": np.minimum(np.round(self.sms[rows] * wd), 9000).astype("int64"),
                "recharge_amount": np.round(np.minimum(top[rows, d], 9000), 2),
                "other_op_cs_calls": np.minimum(calls[rows, d], 90),
            })

    # Dimension tables ------------------------------------------------------------

    def customers(self) -> pa.Table:
        c = self.chunk.customers
        cache = self.chunk.cache
        if "customers" not in cache:
            # Customers never change inside the window: build them once, then pick who exists.
            ent = c.enterprise
            cache["customers"] = canonical_table("customers", {
                "customer_id": _text(c.ids),
                "customer_type": np.where(ent, "enterprise", "individual").astype(object),
                "name": c.name, "id_number": c.id_number,
                "region": cat.REGION_NAMES[c.region], "city": cat.CITY_NAMES[c.city],
                "vip_card": np.array(VIP_CARDS, dtype=object)[c.vip],
                "credit_limit": c.credit_limit, "deposit": c.deposit,
                "join_date": day_text(c.join_day),
                "birth_year": pa.array(c.birth_year, type=pa.int64(), mask=ent),
                "gender": np.where(ent, None, np.where(c.female, "F", "M")).astype(object),
            })
        keep = np.flatnonzero(c.join_day < self.ms + self.md)
        full: pa.Table = cache["customers"]
        return full if len(keep) == full.num_rows else full.take(pa.array(keep))

    def _subscriber_statics(self) -> dict[str, pa.Array]:
        cache = self.chunk.cache
        key = ("subscribers", self.chunk.applied(self.t))
        if key not in cache:
            s = self.subs
            cache[key] = {
                "msisdn": _text(s.msisdn),
                "customer_id": _text(self.chunk.customers.ids[s.cust]),
                "region": _text(cat.REGION_NAMES[s.region]), "city": _text(cat.CITY_NAMES[s.city]),
                "activation_date": day_text(s.act_day),
                "churn_date": day_text(s.churn_day),
                "churn_type": pa.array(np.array(CHURN_TYPES, dtype=object)[np.maximum(s.churn_type, 0)], pa.string()),
                "contract_end": _opt_days(s.contract_end), "renew_end": _opt_days(s.renew_end),
            }
        return cache[key]

    def subscribers(self) -> pa.Table:
        s, t = self.subs, self.t
        keep = np.flatnonzero(self.exists)
        k = pa.array(keep, type=pa.int64())
        st = {name: arr.take(k) for name, arr in self._subscriber_statics().items()}
        plan = pa.array(np.where(t >= s.plan_change_t[keep], s.plan1[keep], s.plan0[keep]))
        gone = s.churns[keep] & (s.churn_t[keep] <= t)
        suspended = ~gone & s.churns[keep] & (s.churn_type[keep] == 2) & (s.churn_t[keep] - t == 1)
        status = pa.array(np.where(gone, 2, np.where(suspended, 1, 0)))
        renewed = (s.renew_end[keep] >= 0) & (s.contract_end[keep] < self.ms + self.md - 1)
        empty = pa.scalar(None, pa.string())
        return canonical_table("subscribers", {
            "subscriber_id": self.sub_ids(keep), "msisdn": st["msisdn"], "customer_id": st["customer_id"],
            "plan_id": _text(cat.PLAN_IDS).take(plan), "payment_type": _text(cat.PLAN_PAYMENT).take(plan),
            "brand": _text(cat.PLAN_BRAND).take(plan), "region": st["region"], "city": st["city"],
            "activation_date": st["activation_date"],
            "status": pa.array(["active", "suspended", "churned"]).take(status),
            "churn_date": pc.if_else(pa.array(gone), st["churn_date"], empty),
            "churn_type": pc.if_else(pa.array(gone), st["churn_type"], empty),
            "contract_end_date": pc.if_else(pa.array(renewed), st["renew_end"], st["contract_end"]),
        })

    def plans(self) -> pa.Table:
        P = cat.PLANS
        return canonical_table("plans", {
            "plan_id": [p[0] for p in P], "name": [p[1] for p in P], "brand": [p[2] for p in P],
            "payment_type": [p[3] for p in P], "monthly_fee": [p[4] for p in P],
            "voice_minutes": [p[5] for p in P], "data_mb": [p[6] for p in P],
            "is_bundle": [p[7] for p in P], "premium": [p[8] for p in P],
        })

    def enterprise_groups(self) -> pa.Table:
        g, c = self.chunk.groups, self.chunk.customers
        return canonical_table("enterprise_groups", {
            "group_id": g.ids, "customer_id": c.ids[g.cust], "name": g.name, "group_class": g.group_class,
            "industry": g.industry, "region": cat.REGION_NAMES[g.region], "headcount": g.headcount,
            "account_manager": g.account_manager,
        })

    def group_members(self) -> pa.Table:
        g, s, t = self.chunk.groups, self.subs, self.t
        sub = g.member_sub
        keep = np.flatnonzero(~(s.churns[sub] & (s.churn_t[sub] <= t)))
        return canonical_table("group_members", {
            "group_id": g.ids[g.member_group[keep]], "subscriber_id": s.ids[sub[keep]],
            "role": np.where(g.member_key[keep], "key_person", "member").astype(object),
            "title": g.member_title[keep], "joined_date": day_text(g.member_joined[keep]),
        })

    def agreements(self) -> pa.Table:
        cache = self.chunk.cache
        if "agreements" not in cache:
            # Every agreement the window will ever see, with the day it starts; a month shows those started.
            s, g, c = self.chunk.subs, self.chunk.groups, self.chunk.customers
            first = np.flatnonzero(s.contract_kind > 0)
            renew = np.flatnonzero(s.renew_end >= 0)
            kinds = np.array(["", "handset_contract", "plan_contract"], dtype=object)
            start = np.concatenate([s.contract_start[first], s.contract_end[renew] + 1, g.agreement_start])
            ids = pa.concat_arrays([_prefixed("AC", self.sub_ids(first), 1), _prefixed("AR", self.sub_ids(renew), 1),
                                    _prefixed("AG", _text(g.ids), 1)])
            cache["agreements"] = (start, canonical_table("agreements", {
                "agreement_id": ids,
                "customer_id": np.concatenate([c.ids[s.cust[first]], c.ids[s.cust[renew]], c.ids[g.cust]]),
                "group_id": np.concatenate([np.full(len(first) + len(renew), None, dtype=object), g.ids]),
                "subscriber_id": pa.concat_arrays([self.sub_ids(first), self.sub_ids(renew),
                                                   pa.nulls(len(g.ids), pa.string())]),
                "kind": np.concatenate([kinds[s.contract_kind[first]], np.full(len(renew), "plan_contract", dtype=object),
                                        np.full(len(g.ids), "group_agreement", dtype=object)]),
                "start_date": day_text(start),
                "end_date": day_text(np.concatenate([s.contract_end[first], s.renew_end[renew], g.agreement_end])),
                "value": np.concatenate([s.contract_value[first], s.contract_value[renew], g.agreement_value]),
            }))
        start, full = cache["agreements"]
        return full.take(pa.array(np.flatnonzero(start < self.ms + self.md)))

    def circuits(self) -> pa.Table:
        g, c = self.chunk.groups, self.chunk.customers
        cg = g.circuit_group
        status = np.array(["ordered", "active", "ceased"], dtype=object)[g.circuit_status]
        return canonical_table("circuits", {
            "circuit_id": pc.binary_join_element_wise(
                _prefixed("CK", _text(g.ids[cg]), 1),
                pc.utf8_lpad(pa.array(np.arange(len(cg)) % 1000).cast(pa.string()), 3, "0"), ""),
            "customer_id": c.ids[g.cust[cg]], "group_id": g.ids[cg],
            "service": np.array(CIRCUIT_SERVICES, dtype=object)[g.circuit_service],
            "bandwidth_kbps": g.circuit_kbps, "status": status,
            "activation_date": _opt_days(g.circuit_act_day), "monthly_fee": g.circuit_fee,
            "one_off_fee": g.circuit_one_off,
        })
