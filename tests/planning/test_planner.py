"""The monthly planner on three overlapping campaigns: every rule is counted, not assumed."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pytest

from tenure.analytics.planning import DECISIONS, ContactHistory, PlanSettings, uniform_draw
from tenure.domain.contact_policy import ChannelCapacity, ContactPolicy
from tenure.domain.control_groups import assign_controls, draw, in_global_control
from tenure.services.planning import channel_days, plan_month

from .builders import campaign, profiles
from .conftest import MONTH, Scenario

ACTIVE = {"selected", "control", "over_capacity"}


def rows(result: Any) -> list[dict[str, Any]]:
    return result.decisions.to_pylist()


def test_every_considered_subscriber_has_exactly_one_decision(scenario: Scenario) -> None:
    decided = rows(scenario.result)
    ids = [r["subscriber_id"] for r in decided]
    assert len(ids) == scenario.profiles.num_rows
    assert set(ids) == set(scenario.profiles["subscriber_id"].to_pylist())
    assert len(set(ids)) == len(ids)
    assert {r["decision"] for r in decided} <= set(DECISIONS)
    totals = scenario.result.totals["decisions"]
    assert sum(totals.values()) == len(ids)
    # the report counts what the decisions say
    assert totals == {d: sum(r["decision"] == d for r in decided) for d in DECISIONS}


def test_at_most_one_action_per_customer(scenario: Scenario) -> None:
    per_customer: Counter[str] = Counter()
    for r in rows(scenario.result):
        if r["decision"] in ACTIVE:
            per_customer[r["customer_id"]] += 1
    assert per_customer, "the scenario must plan something"
    assert max(per_customer.values()) == 1
    # with two lines per customer, the second line of a planned customer lost arbitration
    assert scenario.result.totals["decisions"]["lost_arbitration"] > 0


def test_contact_cap_and_cool_down_respected(scenario: Scenario) -> None:
    policy, first = scenario.policy, dt.date(2026, 11, 1)
    customer_of = dict(zip(scenario.profiles["subscriber_id"].to_pylist(),
                           scenario.profiles["customer_id"].to_pylist(), strict=True))
    in_window: Counter[str] = Counter()
    refused: dict[str, dt.date] = {}
    for c in scenario.contacts.to_pylist():
        cust = customer_of[c["subscriber_id"]]
        if first - dt.timedelta(days=policy.window_days) <= c["contact_date"] < first:
            in_window[cust] += 1
        if c["outcome"] in policy.refusal_outcomes:
            refused[cust] = max(refused.get(cust, c["contact_date"]), c["contact_date"])
    capped_customers = {c for c, n in in_window.items() if n >= policy.max_contacts}
    cooling = {c for c, d in refused.items() if d >= first - dt.timedelta(days=policy.cooldown_days)}
    decided = rows(scenario.result)
    n_capped = n_cooling = 0
    for r in decided:
        if r["decision"] in ACTIVE | {"lost_arbitration"}:
            assert r["customer_id"] not in capped_customers
            assert r["customer_id"] not in cooling
        if r["decision"] == "capped":
            n_capped += 1
            assert r["customer_id"] in capped_customers
        if r["decision"] == "cooling_down":
            n_cooling += 1
            assert r["customer_id"] in cooling
    assert n_capped > 0 and n_cooling > 0


def test_do_not_disturb_and_opt_out_respected(scenario: Scenario) -> None:
    blocked: dict[str, set[str]] = defaultdict(set)
    for s in scenario.suppressions.to_pylist():
        blocked[s["subscriber_id"]].add(s["channel"])
    channels = {c.campaign_id: set(c.channels) for c in scenario.campaigns}
    seen = Counter()
    for r in rows(scenario.result):
        b = blocked.get(r["subscriber_id"], set())
        if r["decision"] == "selected":
            assert r["channel"] not in b and "*" not in b
        if r["decision"] in ("opted_out", "do_not_disturb"):
            seen[r["decision"]] += 1
            # every channel of the campaign is blocked for this subscriber
            assert "*" in b or channels[r["campaign_id"]] <= b
    assert seen["opted_out"] > 0 and seen["do_not_disturb"] > 0


def test_channel_capacity_respected_and_reported(scenario: Scenario) -> None:
    days = channel_days(scenario.campaigns, MONTH)
    volume = Counter(r["channel"] for r in rows(scenario.result) if r["decision"] == "selected")
    report = {c["channel"]: c for c in scenario.result.to_dict()["channels"]}
    for ch, d in days.items():
        limit = scenario.capacity.limit(ch, d)
        assert report[ch]["capacity"] == limit
        assert report[ch]["planned"] == volume[ch]
        if limit is not None:
            assert volume[ch] <= limit
    # outbound calls are scarce in this scenario: the channel is full and others waited
    assert volume["outbound_call"] == report["outbound_call"]["capacity"]
    assert scenario.result.totals["decisions"]["over_capacity"] > 0


def test_budget_respected(scenario: Scenario) -> None:
    for c in scenario.campaigns:
        selected = sum(r["decision"] == "selected" and r["campaign_id"] == c.campaign_id
                       for r in rows(scenario.result))
        if c.budget is not None:
            assert selected * c.offer_cost <= c.budget


def test_campaign_report_adds_up(scenario: Scenario) -> None:
    for rep in scenario.result.campaigns:
        parts = (rep["selected"] + rep["control"] + rep["global_control"] + rep["lost_arbitration"]
                 + rep["over_capacity"] + sum(rep["suppressed"].values()))
        assert parts == rep["considered"]
        assert sum(rep["channels"].values()) == rep["selected"]
        pv = rep["preview"]
        assert pv["matches"] >= pv["after_policy"] >= pv["after_arbitration"] >= pv["after_capacity"]
        assert pv["control_size"] == rep["control"]
        if rep["selected"] and rep["control"]:
            assert pv["minimum_detectable_effect"] > 0


def test_controls_match_the_stratified_reference(scenario: Scenario) -> None:
    """The engine's holdout equals the pure-Python reference, stratum by stratum."""
    prof = {r["subscriber_id"]: r for r in scenario.profiles.to_pylist()}
    decided = rows(scenario.result)
    checked = 0
    for c in scenario.campaigns:
        won = [r for r in decided if r["campaign_id"] == c.campaign_id and r["decision"] in ACTIVE]
        members = [(r["subscriber_id"], (prof[r["subscriber_id"]]["segment_id"],
                                         prof[r["subscriber_id"]]["risk_decile"])) for r in won]
        expected = assign_controls(members, c.campaign_id, c.control_share)
        actual = {r["subscriber_id"] for r in won if r["decision"] == "control"}
        assert actual == expected
        # balanced: in every stratum the control share is the quota, within half a customer
        strata: dict[Any, list[str]] = defaultdict(list)
        for sub, stratum in members:
            strata[stratum].append(sub)
        big = [s for s in strata.values() if len(s) >= 20]
        checked += len(big)
        for subs in big:
            share = sum(s in actual for s in subs) / len(subs)
            assert abs(share - c.control_share) <= 0.5 / len(subs) + 1e-9
    assert checked >= 5


def test_rerun_and_row_shuffle_give_the_same_plan(scenario: Scenario, con: Any) -> None:
    order = np.random.default_rng(5).permutation(scenario.profiles.num_rows)
    shuffled = scenario.profiles.take(pa.array(order))
    again = scenario.run(con, shuffled)
    key = lambda r: r["subscriber_id"]
    assert sorted(rows(again), key=key) == sorted(rows(scenario.result), key=key)


def test_global_control_rotates_by_quarter(con: Any) -> None:
    data = profiles(400, seed=3)
    c = campaign(channels=("sms",), start_date=dt.date(2026, 10, 1), end_date=dt.date(2027, 1, 31))
    settings = PlanSettings(global_control_share=0.2)

    def held(month: str) -> set[str]:
        t = ibis.memtable(data)
        res = plan_month(t, [c], ContactPolicy(), ChannelCapacity(), ContactHistory(), month, settings,
                         targets={c.campaign_id: ibis.literal(True)}, con=con)
        return {r["subscriber_id"] for r in rows(res) if r["decision"] == "global_control"}

    october, november, january = held("2026-10"), held("2026-11"), held("2027-01")
    assert october == november  # same quarter, same group
    assert october != january
    subs = data["subscriber_id"].to_pylist()
    assert january == {s for s in subs if in_global_control(s, "2027-01", 0.2)}
    assert 40 <= len(january) <= 120


def test_engine_draw_equals_domain_draw(con: Any) -> None:
    t = ibis.memtable({"k": ["S1|c1", "S2|c1", "x|y", "中文|c"]})
    got = con.execute(t.mutate(u=uniform_draw(t.k)))
    for k, u in zip(got["k"], got["u"], strict=True):
        s, c = k.split("|")
        assert u == pytest.approx(draw(s, c), abs=1e-12)


def _hand_profiles(rows_: list[dict[str, Any]]) -> pa.Table:
    n = len(rows_)
    base = profiles(n, seed=1)
    cols = {name: base[name] for name in base.column_names}
    for name in rows_[0]:
        kind = base.schema.field(name).type if name in base.column_names else None
        cols[name] = pa.array([r[name] for r in rows_], type=kind)
    return pa.table(cols)


def test_arbitration_by_priority_then_expected_value(con: Any) -> None:
    high = campaign(priority=10, expected_effect=0.1, control_share=0.0, channels=("sms",))
    strong = campaign(priority=5, expected_effect=0.5, control_share=0.0, channels=("sms",))
    weak = campaign(priority=5, expected_effect=0.3, control_share=0.0, channels=("sms",))
    data = _hand_profiles([
        # eligible for: high + strong  -> high (priority beats value)
        {"subscriber_id": "u1", "customer_id": "k1", "current_value": 100.0, "churn_probability": 0.5, "tag": 3},
        # strong + weak -> strong (same priority, higher expected value)
        {"subscriber_id": "u2", "customer_id": "k2", "current_value": 100.0, "churn_probability": 0.5, "tag": 6},
        # two lines of one customer, both eligible for strong: the higher value line wins
        {"subscriber_id": "u3", "customer_id": "k3", "current_value": 50.0, "churn_probability": 0.5, "tag": 2},
        {"subscriber_id": "u4", "customer_id": "k3", "current_value": 90.0, "churn_probability": 0.5, "tag": 2},
        # eligible for nothing
        {"subscriber_id": "u5", "customer_id": "k5", "current_value": 90.0, "churn_probability": 0.5, "tag": 0},
    ])
    t = ibis.memtable(data)
    targets = {high.campaign_id: t.tag == 3, strong.campaign_id: t.tag.isin([2, 3, 6]),
               weak.campaign_id: t.tag == 6}
    res = plan_month(t, [weak, strong, high], ContactPolicy(), ChannelCapacity(), ContactHistory(), MONTH,
                     targets=targets, con=con)
    got = {r["subscriber_id"]: (r["decision"], r["campaign_id"]) for r in rows(res)}
    assert got == {
        "u1": ("selected", high.campaign_id),
        "u2": ("selected", strong.campaign_id),
        "u3": ("lost_arbitration", strong.campaign_id),
        "u4": ("selected", strong.campaign_id),
        "u5": ("not_eligible", None),
    }
    ev = {r["subscriber_id"]: r["expected_value"] for r in rows(res)}
    # expected value = risk x monthly value x 12 months x effect - offer cost (20 yuan)
    assert ev["u2"] == pytest.approx(0.5 * 100 * 12 * 0.5 - 20)
    weak_pairs = {r["campaign_id"]: r for r in res.campaigns}[weak.campaign_id]
    assert weak_pairs["lost_arbitration"] == 1 and weak_pairs["selected"] == 0


def test_overflow_goes_to_the_next_preferred_channel(con: Any) -> None:
    # Monday to Friday of one week, 1 outbound call a day and 2 store slots a day.
    c = campaign(channels=("outbound_call", "store", "sms"), control_share=0.0,
                 start_date=dt.date(2026, 11, 2), end_date=dt.date(2026, 11, 6))
    capacity = ChannelCapacity(daily={"outbound_call": 1, "store": 2, "sms": 0})
    people = []
    for i in range(20):
        people.append({
            "subscriber_id": f"v{i:02d}", "customer_id": f"w{i:02d}", "current_value": 100.0 + i,
            "churn_probability": 0.4, "pref_hotline": 9, "pref_store": 5, "pref_sms": 1,
        })
    people[0]["pref_store"] = 9  # prefers the store: gets it in the first pass
    people[0]["pref_hotline"] = 2
    t = ibis.memtable(_hand_profiles(people))
    res = plan_month(t, [c], ContactPolicy(), capacity, ContactHistory(), MONTH,
                     targets={c.campaign_id: ibis.literal(True)}, con=con)
    got = {r["subscriber_id"]: r for r in rows(res)}
    by_value = [f"v{i:02d}" for i in range(19, 0, -1)]  # highest expected value first
    assert [s for s in by_value if got[s]["channel"] == "outbound_call"] == by_value[:5]
    assert got["v00"]["channel"] == "store"
    assert [s for s in by_value if got[s]["channel"] == "store"] == by_value[5:14]
    assert all(got[s]["decision"] == "over_capacity" for s in by_value[14:])
    assert "full" in got[by_value[-1]]["reason"]


def test_opt_out_of_one_channel_moves_contact_to_another(con: Any) -> None:
    c = campaign(channels=("outbound_call", "sms"), control_share=0.0)
    data = _hand_profiles([
        {"subscriber_id": "o1", "customer_id": "p1", "pref_hotline": 9, "pref_sms": 1},
        {"subscriber_id": "o2", "customer_id": "p2", "pref_hotline": 9, "pref_sms": 1},
        {"subscriber_id": "o3", "customer_id": "p3", "pref_hotline": 9, "pref_sms": 1},
    ])
    supp = pa.table({"subscriber_id": ["o1", "o2", "o3", "o3"], "channel": ["outbound_call", "*", "sms", "outbound_call"],
                     "kind": ["opt_out", "do_not_disturb", "opt_out", "do_not_disturb"]})
    t = ibis.memtable(data)
    res = plan_month(t, [c], ContactPolicy(), ChannelCapacity(), ContactHistory(suppressions=ibis.memtable(supp)),
                     MONTH, targets={c.campaign_id: ibis.literal(True)}, con=con)
    got = {r["subscriber_id"]: (r["decision"], r["channel"]) for r in rows(res)}
    assert got == {"o1": ("selected", "sms"), "o2": ("do_not_disturb", None), "o3": ("opted_out", None)}


def test_missing_churn_probability_uses_warning_default(con: Any) -> None:
    c = campaign(channels=("sms",), control_share=0.0)
    data = _hand_profiles([
        {"subscriber_id": "r1", "customer_id": "q1", "churn_probability": None, "warning_count": 2,
         "current_value": 100.0},
    ])
    t = ibis.memtable(data)
    settings = PlanSettings(default_risk_by_warnings=(0.0, 0.1, 0.3))
    res = plan_month(t, [c], ContactPolicy(), ChannelCapacity(), ContactHistory(), MONTH, settings,
                     targets={c.campaign_id: ibis.literal(True)}, con=con)
    assert rows(res)[0]["expected_value"] == pytest.approx(0.3 * 100 * 12 * c.expected_effect - c.offer_cost)


def test_inactive_campaign_is_reported_not_planned(con: Any, scenario: Scenario) -> None:
    late = campaign(start_date=dt.date(2027, 3, 1), end_date=dt.date(2027, 3, 31))
    t = ibis.memtable(profiles(50))
    res = plan_month(t, [scenario.campaigns[0], late], ContactPolicy(), ChannelCapacity(), ContactHistory(),
                     MONTH, targets={scenario.campaigns[0].campaign_id: t.churn_probability > 0.3,
                                     late.campaign_id: ibis.literal(True)}, con=con)
    assert any(late.campaign_id in w for w in res.warnings)
    assert all(r["campaign_id"] != late.campaign_id for r in rows(res))


def test_target_filter_compiled_from_the_rule_language(con: Any) -> None:
    c = campaign(target_filter="complaints > 0 and churn_probability >= 0.3 and region in ('fuzhou')",
                 channels=("sms",), control_share=0.0)
    data = profiles(300, seed=21)
    t = ibis.memtable(data)
    res = plan_month(t, [c], ContactPolicy(), ChannelCapacity(), ContactHistory(), MONTH, con=con)
    expected = {r["subscriber_id"] for r in data.to_pylist()
                if r["complaints"] > 0 and r["churn_probability"] >= 0.3 and r["region"] == "fuzhou"}
    assert expected
    assert {r["subscriber_id"] for r in rows(res) if r["decision"] == "selected"} == expected


def test_unknown_name_in_target_filter_is_an_input_error(con: Any) -> None:
    from tenure.domain.errors import InputError

    c = campaign(target_filter="no_such_measure > 3", channels=("sms",))
    t = ibis.memtable(profiles(10))
    with pytest.raises(InputError):
        plan_month(t, [c], ContactPolicy(), ChannelCapacity(), ContactHistory(), MONTH, con=con)


def test_missing_churn_probability_uses_stage_default_first(con: Any) -> None:
    c = campaign(channels=("sms",), control_share=0.0)
    data = _hand_profiles([
        {"subscriber_id": "t1", "customer_id": "y1", "churn_probability": None, "current_value": 100.0},
        {"subscriber_id": "t2", "customer_id": "y2", "churn_probability": None, "current_value": 100.0},
    ]).append_column("stage", pa.array(["D", "Z"]))
    settings = PlanSettings(default_risk_by_stage={"D": 0.5}, default_risk_by_warnings=(0.1,))
    t = ibis.memtable(data)
    res = plan_month(t, [c], ContactPolicy(), ChannelCapacity(), ContactHistory(), MONTH, settings,
                     targets={c.campaign_id: ibis.literal(True)}, con=con)
    ev = {r["subscriber_id"]: r["expected_value"] for r in rows(res)}
    value = 100 * 12 * c.expected_effect
    assert ev == {"t1": pytest.approx(0.5 * value - c.offer_cost), "t2": pytest.approx(0.1 * value - c.offer_cost)}


def test_report_is_json(scenario: Scenario) -> None:
    import json

    doc = json.loads(json.dumps(scenario.result.to_dict()))
    assert doc["month"] == MONTH and len(doc["campaigns"]) == 3


def test_example_campaign_targets_compile_against_the_rule_schema() -> None:
    from tenure.analytics.planning import month_bounds, rule_target
    from tenure.campaigns import example_campaigns
    from tenure.domain.measures import HISTORY_MONTHS, MONTHLY_MEASURES, SUBSCRIBER_ATTRIBUTES

    kinds = {"number": "float64", "string": "string", "bool": "boolean", "date": "date"}
    schema = {f"{m}_m{k}": "float64" for m in MONTHLY_MEASURES for k in range(HISTORY_MONTHS)}
    schema.update({name: kinds[kind] for name, (kind, _) in SUBSCRIBER_ATTRIBUTES.items()})
    table = ibis.table(schema, name="features")
    _, last = month_bounds(MONTH)
    for c in example_campaigns():
        assert rule_target(c, table, last).type().is_boolean(), c.campaign_id


def test_preview_of_a_draft_campaign_alone(con: Any, scenario: Scenario) -> None:
    from tenure.domain.campaigns import Status
    from tenure.domain.roles import Role
    from tenure.services.planning import preview_campaign

    draft = campaign(status=Status.DRAFT, channels=("outbound_call",), control_share=0.2)
    t = ibis.memtable(scenario.profiles)
    pv = preview_campaign(t, draft, ContactPolicy(), ChannelCapacity(daily={"outbound_call": 5}),
                          ContactHistory(), MONTH, target=t.churn_probability >= 0.5, con=con)
    matches = sum(p >= 0.5 for p in scenario.profiles["churn_probability"].to_pylist())
    assert pv["considered"] == pv["preview"]["matches"] == matches
    assert pv["selected"] == 150  # 5 calls a day for 30 days
    assert pv["preview"]["expected_cost"] == 150 * draft.offer_cost
    assert pv["preview"]["minimum_detectable_effect"] is not None
    assert draft.transition(Status.SUBMITTED, Role.ANALYST).status is Status.SUBMITTED
