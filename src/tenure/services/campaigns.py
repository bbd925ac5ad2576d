"""Campaigns in the store: create and edit drafts, move them through the approval flow,
import and export YAML, keep the strategy-offer library and the do-not-disturb and opt-out lists.

Every change is written to the audit log in the same transaction. The flow
itself (who may move a campaign from which status to which) is the domain's
:func:`tenure.domain.campaigns.check_transition`; this module only looks up
the actor's role and stores the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenure.domain.campaigns import (
    CAMPAIGN_CHANNELS,
    PLANNABLE,
    Campaign,
    CampaignValidationError,
    FieldError,
    Status,
    campaign_from_dict,
    campaign_to_dict,
    check_transition,
    dump_campaigns_yaml,
    load_campaigns_yaml,
)
from tenure.domain.contact_policy import ALL_CHANNELS, SUPPRESSION_KINDS
from tenure.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from tenure.domain.strategies import Offer, OfferLibrary, strategies
from tenure.engines.store.campaign_models import CampaignRecord, ContactSuppression, StrategyOffer
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services import audit

SYSTEM = "system"
OFFER_ROLES = frozenset({"administrator", "retention_manager"})
"""Roles that may add and retire offers of the strategy library (everyone else reads it)."""


@dataclass(frozen=True)
class StoredCampaign:
    """A campaign as stored: the definition with its status, version and who changed it last."""

    campaign: Campaign
    version: int
    created_by: str
    updated_by: str
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            **campaign_to_dict(self.campaign),
            "version": self.version,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at.isoformat(),
        }


def offer_library(uow: UnitOfWork) -> OfferLibrary:
    """The store's offer library: the shipped offers overlaid by the stored rows (user-added, retired)."""
    entries: dict[tuple[str, str], tuple[str, Offer, bool]] = {
        (s.strategy_id, o.offer_id): (s.strategy_id, o, True) for s in strategies() for o in s.offers
    }
    for row in uow.offers.list(include_retired=True):
        entries[(row.strategy_id, row.offer_id)] = (row.strategy_id, _offer_of(row), bool(row.active))
    return OfferLibrary.of(entries.values())


def _offer_of(row: StrategyOffer) -> Offer:
    return Offer(row.offer_id, row.name, row.name_zh or "", row.description or "", float(row.unit_cost),
                 row.eligibility or "", int(row.validity_days))


def _stored(rec: CampaignRecord, library: OfferLibrary) -> StoredCampaign:
    data = dict(rec.definition)
    data["status"] = rec.status
    return StoredCampaign(
        campaign=campaign_from_dict(data, source=f"store:{rec.campaign_id}", library=library),
        version=rec.version,
        created_by=rec.created_by,
        updated_by=rec.updated_by,
        updated_at=rec.updated_at,
    )


def _definition(campaign: Campaign) -> dict[str, Any]:
    data = campaign_to_dict(campaign)
    data.pop("status", None)  # the status lives in its own column
    return data


class CampaignService:
    """Use cases on stored campaigns; ``actor`` is a user name (``None`` for the command line itself)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.uow_factory = uow_factory

    # -- reading -----------------------------------------------------------------------
    def find(self, statuses: Iterable[str] | None = None) -> list[StoredCampaign]:
        """Stored campaigns (only those in ``statuses`` when given), by id."""
        with self.uow_factory() as uow:
            library = offer_library(uow)
            return [_stored(r, library) for r in uow.campaigns.list(statuses)]

    def get(self, campaign_id: str) -> StoredCampaign:
        with self.uow_factory() as uow:
            rec = uow.campaigns.get(campaign_id)
            if rec is None:
                raise NotFound(f"no campaign {campaign_id!r}")
            return _stored(rec, offer_library(uow))

    def library(self) -> OfferLibrary:
        """The offer library campaigns are validated and planned against (shipped and user-added)."""
        with self.uow_factory() as uow:
            return offer_library(uow)

    def plannable(self) -> list[Campaign]:
        """Approved and running campaigns: what the monthly plan executes."""
        return [s.campaign for s in self.find([s.value for s in PLANNABLE])]

    def export_yaml(self, campaign_ids: Iterable[str] | None = None) -> str:
        stored = self.find() if campaign_ids is None else [self.get(i) for i in campaign_ids]
        if not stored:
            raise NotFound("no campaign to export")
        return dump_campaigns_yaml([s.campaign for s in stored])

    # -- writing -----------------------------------------------------------------------
    def save(self, actor: str | None, campaign: Campaign) -> StoredCampaign:
        """Create a campaign, or replace the definition of an existing draft (its version goes up).

        New campaigns always start as drafts, whatever status the definition
        carries: only the approval flow moves them on. The offer must be in
        the store's library; a retired one is refused unless the draft
        already had it.
        """
        who = actor or SYSTEM
        now = datetime.now(UTC)
        with self.uow_factory() as uow:
            if actor is not None:
                self._user(uow, actor)
            rec = uow.campaigns.get(campaign.campaign_id, lock=True)
            kept = rec is not None and (rec.definition.get("strategy"), rec.definition.get("offer")) == (
                campaign.strategy, campaign.offer)
            campaign = _with_offer(campaign, offer_library(uow), allow_retired=kept)
            if rec is None:
                rec = uow.campaigns.add(
                    CampaignRecord(
                        campaign_id=campaign.campaign_id, name=campaign.name, status=Status.DRAFT.value,
                        version=1, definition=_definition(campaign), created_by=who, created_at=now,
                        updated_by=who, updated_at=now,
                    )
                )
                audit.record(uow, who, "campaign.create", "campaign", campaign.campaign_id, None,
                             {**rec.definition, "status": rec.status, "version": 1})
            else:
                if rec.status != Status.DRAFT.value:
                    raise Conflict(
                        f"campaign {campaign.campaign_id} is {rec.status}; only a draft can be edited"
                    )
                before = {**rec.definition, "status": rec.status, "version": rec.version}
                if _definition(campaign) == rec.definition:
                    return _stored(rec, offer_library(uow))
                rec.definition = _definition(campaign)
                rec.name = campaign.name
                rec.version += 1
                rec.updated_by, rec.updated_at = who, now
                audit.record(uow, who, "campaign.edit", "campaign", campaign.campaign_id, before,
                             {**rec.definition, "status": rec.status, "version": rec.version})
            uow.commit()
            return _stored(rec, offer_library(uow))

    def import_yaml(self, actor: str | None, text: str, source: str = "<yaml>") -> list[StoredCampaign]:
        """Store every campaign of a YAML document (all or nothing: one invalid field rejects the file)."""
        with self.uow_factory() as uow:
            library = offer_library(uow)
            existing = {c.campaign_id: (c.definition.get("strategy"), c.definition.get("offer"))
                        for c in uow.campaigns.list()}
        campaigns = load_campaigns_yaml(text, source, library=library)
        errors = [
            FieldError(source, "offer", f"offer {c.strategy}/{c.offer} is retired; a new campaign cannot use it")
            for c in campaigns
            if library.is_retired(c.strategy, c.offer) and existing.get(c.campaign_id) != (c.strategy, c.offer)
        ]
        if errors:
            raise CampaignValidationError(errors)
        return [self.save(actor, c) for c in campaigns]

    def import_files(self, actor: str | None, paths: Iterable[Path]) -> list[StoredCampaign]:
        out: list[StoredCampaign] = []
        for p in paths:
            try:
                text = Path(p).read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"{p}: cannot read ({exc.strerror})") from None
            out.extend(self.import_yaml(actor, text, str(p)))
        return out

    def transition(self, actor: str, campaign_id: str, target: Status | str) -> StoredCampaign:
        """Move a campaign to ``target`` if the actor's role may (see the domain's flow)."""
        with self.uow_factory() as uow:
            user = self._user(uow, actor)
            rec = uow.campaigns.get(campaign_id, lock=True)
            if rec is None:
                raise NotFound(f"no campaign {campaign_id!r}")
            dst = check_transition(rec.status, target, user.role)
            before = {"status": rec.status, "version": rec.version}
            rec.status = dst.value
            rec.version += 1
            rec.updated_by, rec.updated_at = actor, datetime.now(UTC)
            audit.record(uow, actor, f"campaign.{dst.value}", "campaign", campaign_id, before,
                         {"status": rec.status, "version": rec.version})
            uow.commit()
            return _stored(rec, offer_library(uow))

    def submit(self, actor: str, campaign_id: str) -> StoredCampaign:
        return self.transition(actor, campaign_id, Status.SUBMITTED)

    def approve(self, actor: str, campaign_id: str) -> StoredCampaign:
        return self.transition(actor, campaign_id, Status.APPROVED)

    def start(self, actor: str, campaign_id: str) -> StoredCampaign:
        return self.transition(actor, campaign_id, Status.RUNNING)

    def close(self, actor: str, campaign_id: str) -> StoredCampaign:
        return self.transition(actor, campaign_id, Status.CLOSED)

    # -- strategy offers ---------------------------------------------------------------
    def offers(self, include_retired: bool = False) -> list[dict[str, Any]]:
        """The offer library, seeded from the domain's library the first time it is read."""
        with self.uow_factory() as uow:
            if self._seed_offers(uow):
                uow.commit()
            return [_offer_dict(o) for o in uow.offers.list(include_retired)]

    def add_offer(self, actor: str, strategy_id: str, offer_id: str, name: str, unit_cost: float,
                  validity_days: int = 30, name_zh: str = "", description: str = "",
                  eligibility: str = "") -> dict[str, Any]:
        """Add an offer to a strategy kind (retention managers and administrators; audited)."""
        if strategy_id not in {s.strategy_id for s in strategies()}:
            raise InputError(f"unknown strategy {strategy_id!r}")
        offer_id, name, eligibility = offer_id.strip(), name.strip(), eligibility.strip()
        if not _OFFER_ID.fullmatch(offer_id):
            raise InputError("offer id: 1 to 64 lower-case letters, digits, '_' or '-', starting with a letter")
        if not name:
            raise InputError("an offer needs a name")
        if isinstance(unit_cost, bool) or not 0 <= unit_cost <= 1_000_000:
            raise InputError("unit_cost must be between 0 and 1000000 yuan")
        if isinstance(validity_days, bool) or not 0 < validity_days <= 3660:
            raise InputError("validity_days must be between 1 and 3660")
        if eligibility:
            _check_eligibility(eligibility)
        with self.uow_factory() as uow:
            self._offer_manager(uow, actor)
            self._seed_offers(uow)
            if uow.offers.get(strategy_id, offer_id) is not None:
                raise Conflict(f"strategy {strategy_id} already has an offer {offer_id!r}")
            o = uow.offers.add(StrategyOffer(
                strategy_id=strategy_id, offer_id=offer_id, name=name, name_zh=name_zh, description=description,
                unit_cost=float(unit_cost), eligibility=eligibility, validity_days=validity_days, active=True,
                source="user", added_by=actor, added_at=datetime.now(UTC),
            ))
            audit.record(uow, actor, "offer.create", "offer", f"{strategy_id}/{offer_id}", None, _offer_dict(o))
            uow.commit()
            return _offer_dict(o)

    def retire_offer(self, actor: str, strategy_id: str, offer_id: str) -> dict[str, Any]:
        """Retire an offer: new campaigns may no longer use it; campaigns that have it keep it."""
        with self.uow_factory() as uow:
            self._offer_manager(uow, actor)
            self._seed_offers(uow)
            o = uow.offers.get(strategy_id, offer_id)
            if o is None:
                raise NotFound(f"no offer {strategy_id}/{offer_id}")
            if not o.active:
                return _offer_dict(o)  # retiring twice changes nothing
            before = _offer_dict(o)
            o.active = False
            audit.record(uow, actor, "offer.retire", "offer", f"{strategy_id}/{offer_id}", before, _offer_dict(o))
            uow.commit()
            return _offer_dict(o)

    @staticmethod
    def _seed_offers(uow: UnitOfWork) -> bool:
        if uow.offers.count():
            return False
        now = datetime.now(UTC)
        for s in strategies():
            for o in s.offers:
                uow.offers.add(StrategyOffer(
                    strategy_id=s.strategy_id, offer_id=o.offer_id, name=o.name, name_zh=o.name_zh,
                    description=o.description, unit_cost=o.unit_cost, eligibility=o.eligibility,
                    validity_days=o.validity_days, active=True, source="library", added_by=SYSTEM, added_at=now,
                ))
        return True

    # -- do-not-disturb and opt-out ----------------------------------------------------
    def suppress(self, actor: str | None, subscriber_id: str, channel: str, kind: str) -> bool:
        """Put a subscriber on a do-not-disturb or opt-out list; False when already there."""
        if kind not in SUPPRESSION_KINDS:
            raise InputError(f"kind must be one of {', '.join(SUPPRESSION_KINDS)}")
        if channel != ALL_CHANNELS and channel not in CAMPAIGN_CHANNELS:
            raise InputError(f"unknown channel {channel!r}")
        who = actor or SYSTEM
        with self.uow_factory() as uow:
            if uow.suppressions.find(subscriber_id, channel, kind) is not None:
                return False
            uow.suppressions.add(ContactSuppression(subscriber_id=subscriber_id, channel=channel, kind=kind,
                                                    added_by=who, added_at=datetime.now(UTC)))
            audit.record(uow, who, f"suppression.{kind}", "subscriber", subscriber_id, None,
                         {"channel": channel, "kind": kind})
            uow.commit()
            return True

    def unsuppress(self, actor: str | None, subscriber_id: str, channel: str, kind: str) -> bool:
        who = actor or SYSTEM
        with self.uow_factory() as uow:
            entry = uow.suppressions.find(subscriber_id, channel, kind)
            if entry is None:
                return False
            uow.suppressions.remove(entry)
            audit.record(uow, who, f"suppression.{kind}.remove", "subscriber", subscriber_id,
                         {"channel": channel, "kind": kind}, None)
            uow.commit()
            return True

    @staticmethod
    def _user(uow: UnitOfWork, name: str):  # type: ignore[no-untyped-def]
        user = uow.users.by_name(name)
        if user is None or not user.active:
            raise NotFound(f"no active user {name!r}")
        return user

    @classmethod
    def _offer_manager(cls, uow: UnitOfWork, name: str):  # type: ignore[no-untyped-def]
        user = cls._user(uow, name)
        if user.role not in OFFER_ROLES:
            raise PermissionDenied(f"{name} ({user.role}) may not change the offer library")
        return user


_OFFER_ID = re.compile(r"[a-z][a-z0-9_-]{0,63}")


def _check_eligibility(text: str) -> None:
    """Raise :class:`InputError` when ``text`` is not a rule-language expression."""
    from tenure.domain.rules import parse

    try:
        parse(text)
    except InputError as exc:
        raise InputError(f"eligibility: {exc}") from None


def _with_offer(campaign: Campaign, library: OfferLibrary, allow_retired: bool) -> Campaign:
    """``campaign`` with its offer resolved in ``library``; a field error when unknown or (for new use) retired."""
    try:
        offer = library.find(campaign.strategy, campaign.offer) if allow_retired else library.check_new(
            campaign.strategy, campaign.offer)
    except (NotFound, InputError) as exc:
        raise CampaignValidationError([FieldError(f"campaign {campaign.campaign_id}", "offer", str(exc))]) from None
    return replace(campaign, offer_terms=offer)


def _offer_dict(o: StrategyOffer) -> dict[str, Any]:
    return {
        "strategy_id": o.strategy_id, "offer_id": o.offer_id, "name": o.name, "name_zh": o.name_zh,
        "description": o.description, "eligibility": o.eligibility,
        "unit_cost": o.unit_cost, "validity_days": o.validity_days, "active": o.active, "source": o.source,
    }
