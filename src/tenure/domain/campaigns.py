"""Campaign definitions (维系方案): what, for whom, through which channel, by which rules.

A campaign names a strategy and one of its offers, a target filter in the rule
language, the segments it is meant for, the channels that make contact (the
seven customer channels plus the people and teams who call: account managers,
community managers and the outbound call team), a script, contact rules, the
measures it will be judged on, dates, budget, priority, the share held out as
control and the effect it is expected to have.

Campaigns are written by analysts as YAML (one campaign per file, or a list
under ``campaigns:``), go through a small approval flow (draft → submitted →
approved → running → closed) and are then planned month by month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import yaml

from tenure.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from tenure.domain.model import CHANNELS
from tenure.domain.strategies import Offer, OfferLibrary, find_offer

STAFF_CHANNELS: tuple[str, ...] = ("account_manager", "community_manager", "outbound_call")
"""Channels where a person makes the contact (客户经理, 社区经理, 外呼)."""

CAMPAIGN_CHANNELS: tuple[str, ...] = CHANNELS + STAFF_CHANNELS
"""Every channel a campaign may use."""

PREFERENCE_PROXY: dict[str, str] = {
    # Preference is scored for the seven customer channels only; a staffed
    # channel borrows the score of the customer channel it resembles most.
    "outbound_call": "hotline",
    "account_manager": "store",
    "community_manager": "store",
}

TARGETING: tuple[str, ...] = ("risk", "uplift")
"""How the planner ranks a campaign's customers (the campaign's ``targeting`` field)."""

MEASURES: tuple[str, ...] = (
    "churn_rate",
    "downgrade_rate",
    "arpu_lift",
    "mou_lift",
    "acceptance_rate",
    "contact_rate",
    "satisfaction",
    "complaint_rate",
)
"""Measures a campaign may declare it will be evaluated on."""


def preference_column(channel: str) -> str:
    """The profile column holding the customer's preference score for ``channel``.

    >>> preference_column("outbound_call")
    'pref_hotline'
    """
    return f"pref_{PREFERENCE_PROXY.get(channel, channel)}"


class Status(str, Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RUNNING = "running"
    CLOSED = "closed"


# (from, to) -> roles that may make the move. The retention manager alone
# approves, so an analyst cannot launch their own campaign.
TRANSITIONS: dict[tuple[Status, Status], frozenset[str]] = {
    (Status.DRAFT, Status.SUBMITTED): frozenset({"analyst", "retention_manager"}),
    (Status.SUBMITTED, Status.DRAFT): frozenset({"analyst", "retention_manager"}),  # withdrawn or sent back
    (Status.SUBMITTED, Status.APPROVED): frozenset({"retention_manager"}),
    (Status.APPROVED, Status.DRAFT): frozenset({"retention_manager"}),  # approval revoked before start
    (Status.APPROVED, Status.RUNNING): frozenset({"retention_manager", "administrator"}),
    (Status.APPROVED, Status.CLOSED): frozenset({"retention_manager"}),  # cancelled before start
    (Status.RUNNING, Status.CLOSED): frozenset({"retention_manager", "administrator"}),
}

PLANNABLE: frozenset[Status] = frozenset({Status.APPROVED, Status.RUNNING})
"""Statuses whose campaigns the monthly plan executes (others may only be previewed)."""


def allowed_transitions(status: Status | str, role: str | None = None) -> tuple[Status, ...]:
    """Statuses reachable from ``status`` (by ``role`` when given).

    >>> [s.value for s in allowed_transitions("submitted", "retention_manager")]
    ['draft', 'approved']
    """
    src = Status(status)
    return tuple(
        dst for (frm, dst), roles in TRANSITIONS.items() if frm is src and (role is None or role in roles)
    )


def check_transition(status: Status | str, target: Status | str, role: str) -> Status:
    """Return ``target`` if ``role`` may move a campaign from ``status`` to it.

    Raises :class:`Conflict` for a move the flow does not have and
    :class:`PermissionDenied` for a move the role may not make.
    """
    src, dst = Status(status), Status(target)
    roles = TRANSITIONS.get((src, dst))
    if roles is None:
        raise Conflict(f"a {src.value} campaign cannot become {dst.value}")
    if role not in roles:
        raise PermissionDenied(f"role {role!r} may not move a campaign from {src.value} to {dst.value}")
    return dst


@dataclass(frozen=True)
class ContactRules:
    """How contact is made: hours of the day (start inclusive, end exclusive), attempts, spacing."""

    allowed_hours: tuple[int, int] = (9, 20)
    attempts: int = 2
    days_between_attempts: int = 2


@dataclass(frozen=True)
class Campaign:
    """A retention campaign definition (维系方案)."""

    campaign_id: str
    name: str
    strategy: str
    offer: str
    target_filter: str
    channels: tuple[str, ...]
    start_date: dt.date
    end_date: dt.date
    goal: str = ""
    target_segments: tuple[str, ...] = ()
    script: str = ""
    contact_rules: ContactRules = field(default_factory=ContactRules)
    measures: tuple[str, ...] = ("churn_rate",)
    budget: float | None = None
    priority: int = 0
    control_share: float = 0.10
    expected_effect: float = 0.10
    unit_cost: float | None = None  # overrides the library offer's cost
    status: Status = Status.DRAFT
    # How the planner ranks this campaign's customers: ``risk`` (churn probability × value ×
    # expected effect − cost) or ``uplift`` (predicted uplift × value − cost, see tenure.ml.uplift).
    targeting: str = "risk"
    # (segment, effect) measured on earlier campaigns of the same strategy; the planner uses them
    # instead of expected_effect for those segments. Set at plan time, never stored with the campaign.
    measured_effects: tuple[tuple[str, float], ...] = ()
    # The offer as the library held it when the campaign was read (the store's
    # library knows user-added offers); not part of the definition itself.
    offer_terms: Offer | None = field(default=None, compare=False, repr=False)

    @property
    def offer_definition(self) -> Offer:
        """The library offer this campaign makes: the one resolved on reading, else the shipped one."""
        return self.offer_terms if self.offer_terms is not None else find_offer(self.strategy, self.offer)

    @property
    def offer_cost(self) -> float:
        """Cost per contacted customer in yuan: the override, else the library offer's cost."""
        return self.unit_cost if self.unit_cost is not None else self.offer_definition.unit_cost

    def active_in(self, first: dt.date, last: dt.date) -> bool:
        """True when the campaign runs on at least one day of ``first..last``."""
        return self.start_date <= last and self.end_date >= first

    def transition(self, target: Status | str, role: str) -> Campaign:
        """A copy of the campaign in status ``target``; see :func:`check_transition`."""
        return replace(self, status=check_transition(self.status, target, role))


# ---------------------------------------------------------------- validation


@dataclass(frozen=True)
class FieldError:
    source: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.field}: {self.message}"


class CampaignValidationError(InputError):
    """A campaign definition is invalid; ``errors`` lists every problem found (file, field)."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


_REQUIRED = ("campaign_id", "name", "strategy", "offer", "target_filter", "channels", "start_date", "end_date")
_KNOWN = set(_REQUIRED) | {
    "goal", "target_segments", "script", "contact_rules", "measures", "budget", "priority",
    "control_share", "expected_effect", "unit_cost", "status", "targeting",
}


class _Collector:
    def __init__(self, source: str, prefix: str) -> None:
        self.source, self.prefix = source, prefix
        self.errors: list[FieldError] = []

    def add(self, name: str, message: str) -> None:
        self.errors.append(FieldError(self.source, f"{self.prefix}{name}", message))


def _date(col: _Collector, name: str, value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    col.add(name, f"expected a date YYYY-MM-DD, got {value!r}")
    return None


def _number(col: _Collector, name: str, value: Any, low: float, high: float | None) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        col.add(name, f"expected a number, got {value!r}")
        return None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        col.add(name, f"must be {bound}, got {value}")
        return None
    return float(value)


def _int(col: _Collector, name: str, value: Any, low: int, high: int | None = None) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        col.add(name, f"expected a whole number, got {value!r}")
        return None
    if value < low or (high is not None and value > high):
        col.add(name, f"must be between {low} and {high}" if high is not None else f"must be at least {low}")
        return None
    return value


# field -> (parser, lowest, highest); a missing or null field keeps the default.
_NUMBER_FIELDS: dict[str, tuple[Callable[..., Any], float, float | None]] = {
    "budget": (_number, 0, None),
    "unit_cost": (_number, 0, None),
    "priority": (_int, 0, 1000),
    "control_share": (_number, 0, 0.5),
    "expected_effect": (_number, 0, 1),
}
_CONTACT_RULE_FIELDS: dict[str, tuple[Callable[..., Any], float, float | None]] = {
    "attempts": (_int, 1, 10),
    "days_between_attempts": (_int, 0, 60),
}


def _parse_numbers(
    col: _Collector, data: Mapping[str, Any], out: dict[str, Any],
    fields: dict[str, tuple[Callable[..., Any], float, float | None]], prefix: str = "",
) -> None:
    """Parse the numeric ``fields`` present in ``data`` into ``out``; problems go to ``col``."""
    for name, (parse, lowest, highest) in fields.items():
        if data.get(name) is not None:
            value = parse(col, prefix + name, data[name], lowest, highest)
            if value is not None:
                out[name] = value


def _strings(col: _Collector, name: str, value: Any) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        col.add(name, "expected a list of names")
        return None
    return tuple(value)


def _check_rule(col: _Collector, text: str) -> None:
    try:  # the rule parser may not be installed in every build of the domain
        from tenure.domain.rules import parse  # type: ignore[attr-defined]
    except ImportError:
        return
    try:
        parse(text)
    except InputError as exc:
        col.add("target_filter", str(exc))


def campaign_from_dict(
    data: Mapping[str, Any], source: str = "<campaign>", prefix: str = "", library: OfferLibrary | None = None,
) -> Campaign:
    """Build and validate a campaign from plain data (as read from YAML or JSON).

    ``strategy`` and ``offer`` are looked up in ``library`` (the shipped
    library when not given); a retired offer is accepted here, since stored
    campaigns keep theirs; new campaigns are checked with
    :meth:`OfferLibrary.check_new`. Every problem is collected, then raised
    together as :class:`CampaignValidationError` naming the source and the field.
    """
    col = _Collector(source, prefix)
    if not isinstance(data, Mapping):
        col.add("(campaign)", "expected a mapping of fields")
        raise CampaignValidationError(col.errors)
    for key in data:
        if key not in _KNOWN:
            col.add(str(key), "unknown field")
    for key in _REQUIRED:
        if data.get(key) in (None, "", []):
            col.add(key, "is required")
    for key in ("campaign_id", "name", "strategy", "offer", "target_filter", "goal", "script"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            col.add(key, f"expected text, got {data[key]!r}")

    kw: dict[str, Any] = {k: data[k] for k in ("campaign_id", "name", "goal", "script") if isinstance(data.get(k), str)}
    if isinstance(data.get("target_filter"), str) and data["target_filter"].strip():
        kw["target_filter"] = data["target_filter"].strip()
        _check_rule(col, kw["target_filter"])
    strategy_id, offer_id = data.get("strategy"), data.get("offer")
    if isinstance(strategy_id, str) and isinstance(offer_id, str):
        try:
            if library is None:
                kw["offer_terms"] = find_offer(strategy_id, offer_id)
            else:
                kw["offer_terms"] = library.find(strategy_id, offer_id)
            kw["strategy"], kw["offer"] = strategy_id, offer_id
        except NotFound as exc:
            col.add("offer" if "offer" in str(exc) else "strategy", str(exc))

    if data.get("channels") not in (None, "", []):
        channels = _strings(col, "channels", data["channels"])
        if channels is not None:
            bad = [c for c in channels if c not in CAMPAIGN_CHANNELS]
            if bad:
                col.add("channels", f"unknown channel(s) {', '.join(bad)}; one of {', '.join(CAMPAIGN_CHANNELS)}")
            elif len(set(channels)) != len(channels):
                col.add("channels", "a channel is listed twice")
            else:
                kw["channels"] = channels
    if data.get("target_segments") is not None:
        segs = _strings(col, "target_segments", data["target_segments"])
        if segs is not None:
            kw["target_segments"] = segs
    if data.get("measures") is not None:
        measures = _strings(col, "measures", data["measures"])
        if measures is not None:
            bad = [m for m in measures if m not in MEASURES]
            if bad:
                col.add("measures", f"unknown measure(s) {', '.join(bad)}; one of {', '.join(MEASURES)}")
            else:
                kw["measures"] = measures

    for key in ("start_date", "end_date"):
        if data.get(key) is not None:
            d = _date(col, key, data[key])
            if d is not None:
                kw[key] = d
    if "start_date" in kw and "end_date" in kw and kw["end_date"] < kw["start_date"]:
        col.add("end_date", "is before start_date")

    _parse_numbers(col, data, kw, _NUMBER_FIELDS)
    if data.get("targeting") is not None:
        if data["targeting"] in TARGETING:
            kw["targeting"] = data["targeting"]
        else:
            col.add("targeting", f"unknown targeting {data['targeting']!r}; one of {', '.join(TARGETING)}")
    if data.get("status") is not None:
        try:
            kw["status"] = Status(data["status"])
        except ValueError:
            col.add("status", f"unknown status {data['status']!r}; one of {', '.join(s.value for s in Status)}")

    rules = data.get("contact_rules")
    if rules is not None:
        if not isinstance(rules, Mapping):
            col.add("contact_rules", "expected a mapping")
        else:
            for key in rules:
                if key not in ("allowed_hours", "attempts", "days_between_attempts"):
                    col.add(f"contact_rules.{key}", "unknown field")
            rkw: dict[str, Any] = {}
            hours = rules.get("allowed_hours")
            if hours is not None:
                if (
                    not isinstance(hours, list) or len(hours) != 2
                    or not all(isinstance(h, int) and not isinstance(h, bool) for h in hours)
                    or not 0 <= hours[0] < hours[1] <= 24
                ):
                    col.add("contact_rules.allowed_hours", "expected [start, end] hours with 0 <= start < end <= 24")
                else:
                    rkw["allowed_hours"] = (hours[0], hours[1])
            _parse_numbers(col, rules, rkw, _CONTACT_RULE_FIELDS, prefix="contact_rules.")
            kw["contact_rules"] = ContactRules(**rkw)

    if col.errors:
        raise CampaignValidationError(col.errors)
    return Campaign(**kw)


def campaign_to_dict(campaign: Campaign) -> dict[str, Any]:
    """Plain data for ``campaign``: the inverse of :func:`campaign_from_dict`."""
    c = campaign
    out: dict[str, Any] = {
        "campaign_id": c.campaign_id,
        "name": c.name,
        "goal": c.goal,
        "status": c.status.value,
        "strategy": c.strategy,
        "offer": c.offer,
        "target_filter": c.target_filter,
        "target_segments": list(c.target_segments),
        "channels": list(c.channels),
        "script": c.script,
        "contact_rules": {
            "allowed_hours": list(c.contact_rules.allowed_hours),
            "attempts": c.contact_rules.attempts,
            "days_between_attempts": c.contact_rules.days_between_attempts,
        },
        "measures": list(c.measures),
        "start_date": c.start_date.isoformat(),
        "end_date": c.end_date.isoformat(),
        "budget": c.budget,
        "priority": c.priority,
        "control_share": c.control_share,
        "expected_effect": c.expected_effect,
    }
    if c.unit_cost is not None:
        out["unit_cost"] = c.unit_cost
    if c.targeting != "risk":
        out["targeting"] = c.targeting
    return out


def load_campaigns_yaml(text: str, source: str = "<yaml>", library: OfferLibrary | None = None) -> list[Campaign]:
    """Campaigns from YAML text: one mapping, or a list under ``campaigns:``.

    Raises :class:`CampaignValidationError` listing every invalid field of
    every campaign, each prefixed with the file name (and ``campaigns[i].``).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise CampaignValidationError([FieldError(source, where, f"not valid YAML: {exc}")]) from None
    if isinstance(data, Mapping) and "campaigns" in data and len(data) == 1:
        items = data["campaigns"]
        if not isinstance(items, list):
            raise CampaignValidationError([FieldError(source, "campaigns", "expected a list")])
        errors: list[FieldError] = []
        out: list[Campaign] = []
        for i, item in enumerate(items):
            try:
                out.append(campaign_from_dict(item, source, prefix=f"campaigns[{i}].", library=library))
            except CampaignValidationError as exc:
                errors.extend(exc.errors)
        ids = [c.campaign_id for c in out]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            errors.append(FieldError(source, "campaigns", f"campaign_id {dup!r} appears twice"))
        if errors:
            raise CampaignValidationError(errors)
        return out
    return [campaign_from_dict(data, source, library=library)]


class _Dumper(yaml.SafeDumper):
    """Writes scripts and long filters as literal blocks, as an analyst would."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_campaigns_yaml(campaigns: Iterable[Campaign]) -> str:
    """YAML text for ``campaigns`` (a single mapping for one, ``campaigns:`` for several)."""
    items = [campaign_to_dict(c) for c in campaigns]
    data: Any = items[0] if len(items) == 1 else {"campaigns": items}
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
