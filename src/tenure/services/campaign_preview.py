"""Campaign previews, cached per (campaign version, month).

A preview runs the planner on one campaign alone against a profiled month:
how many match, how many remain after the contact policy and capacity, the
expected cost, the control group's size and the smallest effect it can
detect. It takes seconds on a real month, so the result is stored with the
campaign's version: reopening the page reads it back at once, and editing
the campaign (its version goes up) or asking for a fresh one recomputes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from tenure.domain.errors import NotFound, PermissionDenied
from tenure.domain.model import parse_month
from tenure.engines.store.campaign_models import CampaignPreview
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services.campaigns import CampaignService

PREVIEW_FORMAT = 2
"""How the planner counts a preview; a cached preview of another format is computed again.

2: subscribers who left during the month are no longer considered."""

PREVIEW_ROLES = frozenset({"administrator", "analyst", "retention_manager", "channel_owner"})
"""Roles that may run or read a campaign preview (those who write, approve or staff campaigns)."""


class CampaignPreviewService:
    """``planner`` has ``preview(campaign, month) -> dict`` (the monthly plan service)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], planner: Any) -> None:
        self.uow_factory = uow_factory
        self.planner = planner

    def preview(self, actor: str | None, campaign_id: str, month: str, refresh: bool = False) -> dict[str, Any]:
        """The preview of the campaign's current version for ``month``; from the cache unless ``refresh``.

        The answer carries ``cached`` (read back, not computed now),
        ``computed_at`` and the ``version`` it belongs to.
        """
        month = parse_month(month)
        if actor is not None:
            with self.uow_factory() as uow:
                user = uow.users.by_name(actor)
                if user is None or not user.active:
                    raise NotFound(f"no active user {actor!r}")
                if user.role not in PREVIEW_ROLES:
                    raise PermissionDenied(f"{actor} ({user.role}) may not preview campaigns")
        stored = CampaignService(self.uow_factory).get(campaign_id)
        key = (campaign_id, stored.version, month)
        if not refresh:
            with self.uow_factory() as uow:
                row = self._row(uow, *key)
                if row is not None and row.result.get("preview_format") == PREVIEW_FORMAT:
                    return {**row.result, "cached": True, "computed_at": row.computed_at.isoformat(),
                            "version": row.version, "month": month}
        result = {**self.planner.preview(stored.campaign, month), "preview_format": PREVIEW_FORMAT}
        now = datetime.now(UTC)
        with self.uow_factory() as uow:
            # Older versions' previews describe a campaign that no longer exists.
            uow.session.execute(delete(CampaignPreview).where(  # type: ignore[union-attr]
                CampaignPreview.campaign_id == campaign_id, CampaignPreview.version < stored.version))
            row = self._row(uow, *key)
            if row is None:
                try:
                    with uow.session.begin_nested():  # type: ignore[union-attr]
                        uow.session.add(CampaignPreview(  # type: ignore[union-attr]
                            campaign_id=campaign_id, version=stored.version, month=month, result=result,
                            computed_at=now))
                except IntegrityError:
                    pass  # another request stored the same preview meanwhile: either is right
            else:
                row.result, row.computed_at = result, now
            uow.commit()
        return {**result, "cached": False, "computed_at": now.isoformat(), "version": stored.version,
                "month": month}

    @staticmethod
    def _row(uow: UnitOfWork, campaign_id: str, version: int, month: str) -> CampaignPreview | None:
        q = select(CampaignPreview).where(CampaignPreview.campaign_id == campaign_id,
                                          CampaignPreview.version == version, CampaignPreview.month == month)
        return uow.session.scalars(q).one_or_none()  # type: ignore[union-attr]
