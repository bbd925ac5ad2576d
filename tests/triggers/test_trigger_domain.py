"""Events and trigger definitions: validation with reasons, conditions over event and profile, control draws."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenure.domain.errors import InputError
from tenure.domain.events import event_problems, parse_event
from tenure.domain.triggers import trigger_from_mapping
from tenure.services.triggers import SHIPPED_TRIGGERS, load_triggers

from .conftest import complaint_trigger, core_profile, event


def test_valid_event_parses_with_aware_time() -> None:
    e = parse_event(event("s1", "e1", at="2026-11-23T08:00:00"))
    assert e.occurred_at.tzinfo is not None and e.month == "2026-11"
    assert e.rule_row() == {"event_severity": 4}


@pytest.mark.parametrize(("raw", "fragment"), [
    ([], "JSON object"),
    ({**event("s1"), "type": "spam"}, "type 'spam'"),
    ({**event("s1"), "occurred_at": "yesterday"}, "occurred_at must be"),
    ({k: v for k, v in event("s1").items() if k != "event_id"}, "event_id is missing"),
    ({**event("s1"), "subscriber_id": "a b"}, "subscriber_id must be"),
    ({**event("s1"), "attributes": {"Bad Name": 1}}, "lower_snake_case"),
    ({**event("s1"), "attributes": {"x": [1, 2]}}, "attribute x must be"),
    ({**event("s1"), "extra": 1}, "unknown field(s) extra"),
])
def test_invalid_events_give_reasons(raw: object, fragment: str) -> None:
    problems = event_problems(raw)
    assert any(fragment in p for p in problems), problems
    with pytest.raises(InputError):
        parse_event(raw)


def test_condition_reads_event_attributes_and_profile() -> None:
    t = complaint_trigger()
    e = parse_event(event("s1", severity=4))
    assert t.matches(e, core_profile("s1"))
    assert not t.matches(e, {**core_profile("s1"), "is_core": False})
    assert not t.matches(parse_event(event("s1", severity=1)), core_profile("s1"))
    assert not t.matches(e, None)  # unknown subscriber: conditions on the profile are null, so false
    assert not t.matches(parse_event(event("s1", type="bill_shock")), core_profile("s1"))
    assert t.due_at(e) == e.occurred_at + dt.timedelta(hours=2)


def test_shipped_triggers_load() -> None:
    triggers = load_triggers(SHIPPED_TRIGGERS)
    assert len(triggers) >= 3 and len({t.trigger_id for t in triggers}) == len(triggers)


def test_bad_trigger_lists_every_problem() -> None:
    with pytest.raises(InputError) as info:
        trigger_from_mapping({"id": "x", "name": "n", "event_type": "nope", "action": "fax",
                              "condition": "event_a >", "control_share": 1.5, "colour": "red"})
    msg = str(info.value)
    for part in ("event_type", "action", "condition", "control_share", "colour"):
        assert part in msg


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet="abcdef0123456789", min_size=1, max_size=10), min_size=1, max_size=50, unique=True),
       st.floats(min_value=0.05, max_value=0.5))
def test_control_is_deterministic_and_monotone_in_share(subs: list[str], share: float) -> None:
    t = complaint_trigger(control_share=share)
    held = {s for s in subs if t.is_control(s)}
    assert held == {s for s in subs if t.is_control(s)}  # same on every call
    # A larger share only adds subscribers: nobody leaves the control group.
    bigger = complaint_trigger(control_share=min(0.99, share + 0.2))
    assert held <= {s for s in subs if bigger.is_control(s)}
    # Another trigger draws independently (different key).
    other = complaint_trigger(trigger_id="other", control_share=share)
    assert all(other.is_control(s) == other.is_control(s) for s in subs)
