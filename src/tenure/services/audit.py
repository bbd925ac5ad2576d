"""The audit log: every change is recorded with who, when, before and after.

Other services call :func:`record` inside their own unit of work, so the
entry commits (or rolls back) together with the change it describes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenure.engines.store.models import AuditEntry
from tenure.engines.store.unit_of_work import UnitOfWork


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def record(
    uow: UnitOfWork,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: dict | None,
    after: dict | None,
) -> None:
    """Add an audit entry to the current unit of work (committed with it)."""
    uow.audit.add(
        AuditEntry(
            at=datetime.now(UTC),
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=_jsonable(before),
            after=_jsonable(after),
        )
    )


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    before: dict | None
    after: dict | None


def entries(
    uow: UnitOfWork, limit: int = 100, offset: int = 0, object_type: str | None = None,
    object_id: str | None = None, actor: str | None = None,
) -> list[AuditView]:
    """The latest audit entries, newest first."""
    with uow:
        rows = uow.audit.list(limit=limit, offset=offset, object_type=object_type, object_id=object_id, actor=actor)
        return [
            AuditView(r.id, r.at, r.actor, r.action, r.object_type, r.object_id, r.before, r.after) for r in rows
        ]
