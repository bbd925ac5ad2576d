"""Groups and the group 360 view: organisation and contacts, key events and
competitor notes, members and revenue over time, agreements, key persons,
circuits, open requests, warnings, and the monthly grade and star level.

Warehouse tables are read with the portfolio in the Parquet filter, so a
group outside the caller's portfolio is never read.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow.parquet as pq

from tenure.domain.errors import InputError, NotFound
from tenure.domain.masking import mask_msisdn
from tenure.engines.store.enterprise_models import GroupNote
from tenure.engines.store.enterprise_repositories import GroupNoteRepository
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.engines.warehouse import Warehouse
from tenure.services import audit
from tenure.services.auth import Principal
from tenure.services.key_accounts import Clock, actor_name, aware, portfolio, utc_now

NOTE_KINDS = ("key_event", "competitor")
Rows = list[dict[str, Any]]
HISTORY_MONTHS = 12


def _scope_filter(principal: Principal | None, extra: list | None = None) -> list | None:
    scope = portfolio(principal)
    out = list(extra or [])
    if scope is not None:
        out.append(("customer_id", "in", list(scope) or ["\x00"]))
    return out or None


class GroupService:
    """Read groups from the warehouse, keep the account manager's notes in the store."""

    def __init__(self, uow: UnitOfWorkFactory, warehouse: Warehouse, clock: Clock = utc_now) -> None:
        self.uow = uow
        self.warehouse = warehouse
        self.clock = clock

    def _months(self, table: str, area: str = "input") -> list[str]:
        return self.warehouse.months(area, table)

    def _read(self, table: str, month: str, area: str = "input", filters: list | None = None,
              columns: list[str] | None = None) -> list[dict[str, Any]]:
        if not self.warehouse.has(table, month, area):
            return []
        path = self.warehouse.path(table, month, area)
        if columns is not None:
            present = set(pq.ParquetFile(path).schema_arrow.names)
            columns = [c for c in columns if c in present]
        return pq.read_table(path, columns=columns, filters=filters).to_pylist()

    def star_level(self, group_id: str) -> int | None:
        """The group's star level in the latest month it was graded (None when never graded)."""
        months = self._months("group_profiles", "output")
        if not months:
            return None
        rows = self._read("group_profiles", months[-1], "output", filters=[("group_id", "=", group_id)],
                          columns=["group_id", "star_level"])
        star = rows[0].get("star_level") if rows else None
        return int(star) if star is not None else None

    def latest_month(self) -> str | None:
        months = self._months("enterprise_groups")
        return months[-1] if months else None

    def list(self, principal: Principal | None, month: str | None = None) -> list[dict[str, Any]]:
        """The caller's groups with grade, star level and warning count of the month (latest by default)."""
        month = month or self.latest_month()
        if month is None:
            return []
        groups = self._read("enterprise_groups", month, filters=_scope_filter(principal))
        ids = [g["group_id"] for g in groups]
        profiles = {p["group_id"]: p for p in self._read("group_profiles", month, "output",
                                                           filters=[("group_id", "in", ids or ["\x00"])])}
        out = []
        for g in sorted(groups, key=lambda g: g["group_id"]):
            p = profiles.get(g["group_id"], {})
            out.append(g | {"month": month, "group_grade": p.get("group_grade"), "star_level": p.get("star_level"),
                            "members": p.get("members_m0"), "group_revenue_12m": p.get("group_revenue_12m"),
                            "warning_count": p.get("warning_count", 0)})
        return out

    def group(self, principal: Principal | None, group_id: str, month: str | None = None) -> dict[str, Any]:
        """The organisation row of one group the caller may see (NotFound otherwise)."""
        month = month or self.latest_month()
        rows = self._read("enterprise_groups", month, filters=_scope_filter(principal, [("group_id", "=", group_id)])) \
            if month else []
        if not rows:
            raise NotFound(f"no group {group_id}")
        return rows[0]

    def view_360(self, principal: Principal | None, group_id: str) -> dict[str, Any]:
        month = self.latest_month()
        g = self.group(principal, group_id, month)
        assert month is not None
        see_pii = principal is None or principal.see_pii
        members = self._read("group_members", month, filters=[("group_id", "=", group_id)])
        sub_ids = [m["subscriber_id"] for m in members]
        subs = {s["subscriber_id"]: s for s in self._read(
            "subscribers", month, filters=[("subscriber_id", "in", sub_ids or ["\x00"])],
            columns=["subscriber_id", "msisdn", "status"])}
        key_persons = []
        for m in members:
            if m.get("role") == "key_person":
                msisdn = subs.get(m["subscriber_id"], {}).get("msisdn")
                key_persons.append({"subscriber_id": m["subscriber_id"], "title": m.get("title"),
                                    "msisdn": msisdn if see_pii else mask_msisdn(msisdn),
                                    "joined_date": m.get("joined_date")})
        history = []
        for hm in self._months("group_members")[-HISTORY_MONTHS:]:
            mem = self._read("group_members", hm, filters=[("group_id", "=", group_id)], columns=["subscriber_id"])
            ids = [r["subscriber_id"] for r in mem]
            usage = self._read("monthly_usage", hm, filters=[("subscriber_id", "in", ids or ["\x00"])],
                               columns=["revenue"])
            history.append({"month": hm, "members": len(ids),
                            "revenue": round(sum(float(u["revenue"] or 0) for u in usage), 2)})
        # Either the group's own rows or the enterprise customer's (a filter in disjunctive form).
        either = [[("group_id", "=", group_id)], [("customer_id", "=", g["customer_id"])]]
        agreements = self._read("agreements", month, filters=either)
        circuits = self._read("circuits", month, filters=either)
        profile = next(iter(self._read("group_profiles", month, "output", filters=[("group_id", "=", group_id)])), {})
        warnings = self._read("group_warnings", month, "output", filters=[("group_id", "=", group_id)])
        return {
            "month": month, "group": g, "profile": profile, "key_persons": key_persons,
            "member_count": len(members), "history": history,
            "agreements": sorted(agreements, key=lambda a: a["end_date"] or date.max),
            "circuits": circuits, "warnings": warnings, "notes": self.notes(principal, group_id),
        }

    # -- notes --------------------------------------------------------------------------
    def notes(self, principal: Principal | None, group_id: str) -> Rows:
        with self.uow() as uow:
            assert uow.session is not None
            return [{"id": n.id, "kind": n.kind, "body": n.body, "author": n.author, "at": aware(n.at)}
                    for n in GroupNoteRepository(uow.session).of_group(group_id)]

    def add_note(self, principal: Principal | None, group_id: str, kind: str, body: str) -> dict[str, Any]:
        """Record a key event or competitor information on a group the caller may see."""
        if kind not in NOTE_KINDS:
            raise InputError(f"note kind must be one of {', '.join(NOTE_KINDS)}, got {kind!r}")
        if not body.strip():
            raise InputError("a note needs a text")
        self.group(principal, group_id)
        with self.uow() as uow:
            assert uow.session is not None
            n = GroupNoteRepository(uow.session).add(GroupNote(group_id=group_id, kind=kind, body=body.strip(),
                                                               author=actor_name(principal), at=self.clock()))
            audit.record(uow, actor_name(principal), "add_group_note", "group", group_id, None,
                         {"kind": kind, "body": n.body})
            uow.commit()
            return {"id": n.id, "kind": n.kind, "body": n.body, "author": n.author, "at": aware(n.at)}
