"""Key-account grades 1A-5A, star levels 1-5 and what each level is entitled to.

A key account graded ``nA`` is served at star level ``n`` (5A, five stars, is
the highest). Higher levels get more service at no extra charge, for example a
faster provisioning tier charged at the normal price. The entitlements are
configuration (``star_levels`` in ``config/enterprise.yaml``).

This module also assembles the whole enterprise configuration
(:class:`EnterpriseConfig`: SLA table, star levels, loyalty rules and rewards)
from that file. Reading the YAML file is the only I/O; :meth:`EnterpriseConfig.from_mapping`
is pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tenure.domain.errors import ConfigurationError, InputError
from tenure.domain.loyalty import Catalogue, LoyaltyRules
from tenure.domain.sla import DEFAULT_SLA_TABLE, SlaTable, Tier, parse_tier

GRADES: tuple[str, ...] = ("1A", "2A", "3A", "4A", "5A")
ACCOUNT_MANAGER_MODES: tuple[str, ...] = ("pool", "shared", "dedicated", "team")


def star_level_for_grade(grade: str) -> int:
    """``"3A"`` -> 3 (also accepts ``"AAA"``)."""
    g = str(grade).strip().upper()
    if re.fullmatch(r"A{1,5}", g):
        return len(g)
    if g in GRADES:
        return int(g[0])
    raise InputError(f"unknown key-account grade {grade!r}; use 1A to 5A")


@dataclass(frozen=True)
class Entitlements:
    """Service a star level gets at no extra charge."""

    star_level: int
    grade: str
    account_manager: str
    fault_response_hours: int
    fault_repair_hours: int
    included_provisioning_tier: Tier
    provisioning_return_visit_days: int = 7
    fault_return_visit_days: int = 3
    service_reviews_per_year: int = 1
    priority_hotline: bool = False


@dataclass(frozen=True)
class StarLevels:
    """Entitlements of star levels 1-5."""

    levels: tuple[Entitlements, ...]

    def for_star(self, star_level: int) -> Entitlements:
        for e in self.levels:
            if e.star_level == star_level:
                return e
        raise InputError(f"unknown star level {star_level}; use 1 to 5")

    def for_grade(self, grade: str) -> Entitlements:
        return self.for_star(star_level_for_grade(grade))

    @classmethod
    def from_mapping(cls, data: Mapping[Any, Mapping[str, Any]]) -> StarLevels:
        """From ``{1: {grade: 1A, account_manager: ..., ...}, ..., 5: {...}}``."""
        try:
            levels = []
            for key, spec in data.items():
                star = int(key)
                spec = dict(spec)
                grade = str(spec.pop("grade", f"{star}A")).upper()
                if star_level_for_grade(grade) != star:
                    raise ValueError(f"star level {star} is served to grade {grade}")
                mode = str(spec.pop("account_manager"))
                if mode not in ACCOUNT_MANAGER_MODES:
                    raise ValueError(
                        f"account_manager {mode!r} is not one of {ACCOUNT_MANAGER_MODES}"
                    )
                tier = parse_tier(spec.pop("included_provisioning_tier"))
                ints = {
                    k: int(spec.pop(k))
                    for k in (
                        "fault_response_hours",
                        "fault_repair_hours",
                        "provisioning_return_visit_days",
                        "fault_return_visit_days",
                        "service_reviews_per_year",
                    )
                    if k in spec
                }
                hotline = bool(spec.pop("priority_hotline", False))
                if spec:
                    raise ValueError(f"star level {star}: unknown keys {sorted(spec)}")
                levels.append(
                    Entitlements(
                        star_level=star,
                        grade=grade,
                        account_manager=mode,
                        included_provisioning_tier=tier,
                        priority_hotline=hotline,
                        **ints,
                    )
                )
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise ConfigurationError(f"enterprise.yaml, star_levels: {exc}") from None
        stars = sorted(e.star_level for e in levels)
        if stars != [1, 2, 3, 4, 5]:
            raise ConfigurationError(
                f"enterprise.yaml, star_levels: need levels 1 to 5, found {stars}"
            )
        return cls(tuple(sorted(levels, key=lambda e: e.star_level)))


@dataclass(frozen=True)
class Escalation:
    """Who takes over an overdue return visit: each person's lead, else the default lead."""

    default_lead: str = "key_account_lead"
    leads: Mapping[str, str] = field(default_factory=dict)

    def lead_of(self, person: str | None) -> str:
        return self.leads.get(person or "", self.default_lead)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Escalation:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigurationError("enterprise.yaml: return_visits.escalation must be a mapping")
        unknown = set(data) - {"default_lead", "leads"}
        if unknown:
            raise ConfigurationError(f"enterprise.yaml: return_visits.escalation: unknown keys {sorted(unknown)}")
        default = data.get("default_lead", cls.default_lead)
        leads = data.get("leads") or {}
        if not isinstance(default, str) or not default.strip():
            raise ConfigurationError("enterprise.yaml: return_visits.escalation.default_lead must be a user name")
        if not isinstance(leads, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in leads.items()):
            raise ConfigurationError(
                "enterprise.yaml: return_visits.escalation.leads must map user names to their lead's user name")
        for person, lead in leads.items():
            if person == lead:
                raise ConfigurationError(f"enterprise.yaml: {person} cannot be their own lead")
        return cls(default_lead=default.strip(), leads={k.strip(): v.strip() for k, v in leads.items()})


def _escalation(section: Any) -> Escalation:
    if section is None:
        return Escalation()
    if not isinstance(section, Mapping) or set(section) - {"escalation"}:
        raise ConfigurationError("enterprise.yaml: return_visits takes one key, escalation")
    return Escalation.from_mapping(section.get("escalation"))


@dataclass(frozen=True)
class EnterpriseConfig:
    """The enterprise configuration: SLA table, star levels, loyalty rules and rewards."""

    sla: SlaTable
    star_levels: StarLevels
    loyalty: LoyaltyRules
    catalogue: Catalogue
    escalation: Escalation = field(default_factory=Escalation)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> EnterpriseConfig:
        if not isinstance(data, Mapping):
            raise ConfigurationError("enterprise.yaml must be a mapping")
        unknown = set(data) - {"sla", "star_levels", "loyalty", "return_visits"}
        if unknown:
            raise ConfigurationError(f"enterprise.yaml: unknown sections {sorted(unknown)}")
        loyalty = dict(data.get("loyalty") or {})
        catalogue = Catalogue.from_mapping(loyalty.pop("catalogue", None))
        if "star_levels" not in data:
            raise ConfigurationError("enterprise.yaml: the star_levels section is missing")
        return cls(
            sla=SlaTable.from_mapping(data["sla"]) if "sla" in data else DEFAULT_SLA_TABLE,
            star_levels=StarLevels.from_mapping(data["star_levels"]),
            loyalty=LoyaltyRules.from_mapping(loyalty),
            catalogue=catalogue,
            escalation=_escalation(data.get("return_visits")),
        )


def packaged_config_text() -> str:
    """The shipped ``config/enterprise.yaml``."""
    return (resources.files("tenure") / "config" / "enterprise.yaml").read_text(encoding="utf-8")


def load_enterprise_config(path: Path | None = None) -> EnterpriseConfig:
    """Read ``path`` (or the shipped file) into an :class:`EnterpriseConfig`."""
    try:
        text = path.read_text(encoding="utf-8") if path is not None else packaged_config_text()
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path or 'enterprise.yaml'} is not valid YAML: {exc}") from None
    return EnterpriseConfig.from_mapping(data or {})
