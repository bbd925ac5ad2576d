"""Do-not-disturb and opt-out lists (免打扰, 退订) per channel: view, add, remove, upload a file.

The planner honours every entry (see :mod:`tenure.analytics.planning`); this
module is how people keep the lists. Phone numbers kept beside an entry are
shown masked unless the reader's role may see them. An upload records every
good line, reports each bad one with its line number and reason, and counts
entries already on the list as duplicates, so uploading the same file twice
adds nothing the second time. Every change is audited.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from tenure.domain.campaigns import CAMPAIGN_CHANNELS
from tenure.domain.contact_policy import ALL_CHANNELS, SUPPRESSION_KINDS
from tenure.domain.errors import InputError, NotFound, PermissionDenied
from tenure.domain.masking import mask_msisdn
from tenure.domain.roles import Permission, allows
from tenure.engines.store.campaign_models import ContactSuppression
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services import audit

READ_ROLES = frozenset({"administrator", "retention_manager", "channel_owner", "analyst"})
"""Roles that may read the lists."""
EDIT_ROLES = frozenset({"administrator", "retention_manager", "channel_owner"})
"""Roles that may add, remove and upload entries."""

LIST_CHANNELS: tuple[str, ...] = (ALL_CHANNELS, *CAMPAIGN_CHANNELS)
"""Channels a list entry may name (``*`` is every channel)."""

MAX_UPLOAD_BYTES = 5_000_000
MAX_UPLOAD_LINES = 100_000
_SUBSCRIBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_MSISDN = re.compile(r"\+?[0-9]{5,20}")
UPLOAD_COLUMNS: tuple[str, ...] = ("subscriber_id", "msisdn", "channel", "kind")


@dataclass
class ListUpload:
    """Lines read, entries added, entries already listed, and bad lines with line number and reason."""

    lines: int = 0
    added: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"lines": self.lines, "added": self.added, "duplicates": self.duplicates, "errors": self.errors}


def check_entry(subscriber_id: str, channel: str, kind: str, msisdn: str | None = None) -> tuple[str, str, str, str | None]:
    """The entry normalised, or :class:`InputError` saying what is wrong with it."""
    subscriber_id, channel, kind = subscriber_id.strip(), channel.strip(), kind.strip()
    number = (msisdn or "").strip().replace(" ", "").replace("-", "") or None
    if not _SUBSCRIBER.fullmatch(subscriber_id):
        raise InputError(f"subscriber id {subscriber_id!r} is not 1 to 64 letters, digits, '_', '.', ':' or '-'")
    if kind not in SUPPRESSION_KINDS:
        raise InputError(f"kind {kind!r} is not one of {', '.join(SUPPRESSION_KINDS)}")
    if channel not in LIST_CHANNELS:
        raise InputError(f"channel {channel!r} is not one of {', '.join(LIST_CHANNELS)}")
    if number is not None and not _MSISDN.fullmatch(number):
        raise InputError(f"phone number {msisdn!r} is not 5 to 20 digits")
    return subscriber_id, channel, kind, number


class ContactListService:
    """The do-not-disturb and opt-out lists; ``actor`` is a user name (``None`` is the server's command line)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], pii_roles: tuple[str, ...] = ("administrator",)) -> None:
        self.uow_factory = uow_factory
        self.pii_roles = pii_roles

    def _actor(self, uow: UnitOfWork, actor: str | None, roles: frozenset[str]) -> tuple[str, bool]:
        """(name for the audit log, may see phone numbers); refuses roles outside ``roles``."""
        if actor is None:
            return "system", False
        user = uow.users.by_name(actor)
        if user is None or not user.active:
            raise NotFound(f"no active user {actor!r}")
        if user.role not in roles:
            raise PermissionDenied(f"{actor} ({user.role}) may not {'read' if roles is READ_ROLES else 'change'} "
                                   "the contact lists")
        return actor, allows(user.role, Permission.SEE_PII, self.pii_roles)

    # -- reading -----------------------------------------------------------------------
    def overview(self, actor: str | None) -> list[dict[str, Any]]:
        """Entries per (kind, channel)."""
        with self.uow_factory() as uow:
            self._actor(uow, actor, READ_ROLES)
            return [{"kind": k, "channel": c, "entries": n} for k, c, n in uow.suppressions.counts()]

    def entries(self, actor: str | None, kind: str | None = None, channel: str | None = None,
                subscriber_id: str | None = None, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        """Entries, newest first, phone numbers masked unless the actor's role may see them."""
        if kind is not None and kind not in SUPPRESSION_KINDS:
            raise InputError(f"kind must be one of {', '.join(SUPPRESSION_KINDS)}")
        if channel is not None and channel not in LIST_CHANNELS:
            raise InputError(f"unknown channel {channel!r}")
        limit = max(1, min(limit, 1000))
        with self.uow_factory() as uow:
            _, see = self._actor(uow, actor, READ_ROLES)
            rows = uow.suppressions.page(kind, channel, subscriber_id.strip() if subscriber_id else None,
                                         limit, max(offset, 0))
            return [_view(r, see) for r in rows]

    # -- writing -----------------------------------------------------------------------
    def add(self, actor: str | None, subscriber_id: str, channel: str, kind: str,
            msisdn: str | None = None) -> bool:
        """Put a subscriber on a list; False when already there (nothing changes)."""
        sub, ch, k, number = check_entry(subscriber_id, channel, kind, msisdn)
        with self.uow_factory() as uow:
            who, _ = self._actor(uow, actor, EDIT_ROLES)
            added = self._insert(uow, who, sub, ch, k, number, datetime.now(UTC))
            if added:
                audit.record(uow, who, f"suppression.{k}", "subscriber", sub, None, {"channel": ch, "kind": k})
            uow.commit()
            return added

    def remove(self, actor: str | None, entry_id: int) -> dict[str, Any]:
        """Take one entry off its list."""
        with self.uow_factory() as uow:
            who, see = self._actor(uow, actor, EDIT_ROLES)
            entry = uow.suppressions.get(entry_id)
            if entry is None:
                raise NotFound(f"no list entry {entry_id}")
            view = _view(entry, see)
            uow.suppressions.remove(entry)
            audit.record(uow, who, f"suppression.{entry.kind}.remove", "subscriber", entry.subscriber_id,
                         {"channel": entry.channel, "kind": entry.kind}, None)
            uow.commit()
            return view

    def upload(self, actor: str | None, data: bytes, kind: str, channel: str = ALL_CHANNELS,
               source: str = "upload") -> ListUpload:
        """Add every good line of a CSV file to the lists; bad lines come back with line number and reason.

        The first line names the columns: ``subscriber_id`` is required;
        ``msisdn``, ``channel`` and ``kind`` are optional and, when a line
        leaves them empty, ``channel`` and ``kind`` default to the arguments.
        """
        check_entry("x", channel, kind)  # the defaults themselves must be valid
        if len(data) > MAX_UPLOAD_BYTES:
            raise InputError(f"the file is larger than {MAX_UPLOAD_BYTES // 1_000_000} MB; split it")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("the file is not UTF-8 text (save it as CSV UTF-8)") from None
        reader = csv.reader(io.StringIO(text))
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise InputError("the file is empty") from None
        except csv.Error as exc:
            raise InputError(f"line 1: {exc}") from None
        if "subscriber_id" not in header:
            raise InputError(f"line 1 must name the columns; subscriber_id is required (columns: "
                             f"{', '.join(UPLOAD_COLUMNS)})")
        unknown = [h for h in header if h not in UPLOAD_COLUMNS]
        if unknown:
            raise InputError(f"line 1: unknown column(s) {', '.join(unknown)}; one of {', '.join(UPLOAD_COLUMNS)}")
        result = ListUpload()
        good: list[tuple[int, tuple[str, str, str, str | None]]] = []
        seen: set[tuple[str, str, str]] = set()
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                result.lines += 1
                if result.lines > MAX_UPLOAD_LINES:
                    raise InputError(f"more than {MAX_UPLOAD_LINES} lines; split the file")
                if len(row) != len(header):
                    result.errors.append({"line": line, "reason": f"expected {len(header)} fields, got {len(row)}"})
                    continue
                cells = dict(zip(header, row, strict=True))
                try:
                    entry = check_entry(cells["subscriber_id"], cells.get("channel", "").strip() or channel,
                                        cells.get("kind", "").strip() or kind, cells.get("msisdn"))
                except InputError as exc:
                    result.errors.append({"line": line, "reason": str(exc)})
                    continue
                if entry[:3] in seen:
                    result.duplicates += 1
                    continue
                seen.add(entry[:3])
                good.append((line, entry))
        except csv.Error as exc:
            raise InputError(f"line {reader.line_num}: {exc}") from None
        now = datetime.now(UTC)
        with self.uow_factory() as uow:
            who, _ = self._actor(uow, actor, EDIT_ROLES)
            for _, (sub, ch, k, number) in good:
                if self._insert(uow, who, sub, ch, k, number, now):
                    result.added += 1
                else:
                    result.duplicates += 1
            audit.record(uow, who, "suppression.upload", "contact_list", source, None,
                         {"kind": kind, "channel": channel, **{k: v for k, v in result.to_dict().items()
                                                                if k != "errors"}, "bad_lines": len(result.errors)})
            uow.commit()
        return result

    @staticmethod
    def _insert(uow: UnitOfWork, who: str, sub: str, ch: str, k: str, number: str | None, now: datetime) -> bool:
        """Insert one entry unless it is there; a simultaneous writer of the same entry is not an error."""
        if uow.suppressions.find(sub, ch, k) is not None:
            return False
        try:
            with uow.session.begin_nested():  # type: ignore[union-attr]
                uow.suppressions.add(ContactSuppression(subscriber_id=sub, channel=ch, kind=k, msisdn=number,
                                                        added_by=who, added_at=now))
        except IntegrityError:
            return False
        return True


def _view(r: ContactSuppression, see_pii: bool) -> dict[str, Any]:
    return {
        "id": r.id, "subscriber_id": r.subscriber_id, "channel": r.channel, "kind": r.kind,
        "msisdn": r.msisdn if see_pii else mask_msisdn(r.msisdn), "added_by": r.added_by,
        "added_at": r.added_at.isoformat() if r.added_at else None,
    }
