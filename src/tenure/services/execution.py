"""Execution lists (执行清单), work orders (工单) and their outcomes.

A month's plan is split by channel into execution lists: a call centre
pulls its list (Excel or JSON, phone numbers masked); the account-manager
and community-manager channels are work orders in one person's queue. Each
contact attempt records an outcome; ``(work order, attempt)`` is unique in
the store, so an Excel re-upload or a retried API call never counts twice,
and attempts numbered by the store are taken under a row lock on the order,
so simultaneous writers never lose one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from tenure.domain.campaigns import CAMPAIGN_CHANNELS
from tenure.domain.errors import Conflict, InputError, NotFound, PermissionDenied
from tenure.domain.masking import mask_msisdn
from tenure.domain.outcomes import FINAL_RESPONSES, REASONS, RESPONSES, Outcome, outcome_problems
from tenure.domain.roles import Permission, allows
from tenure.engines.store.campaign_models import ContactRecord, WorkOrder, WorkOrderOutcome
from tenure.engines.store.models import User
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.services import audit

LIST_ROLES = frozenset({"administrator", "retention_manager", "channel_owner"})
"""Roles that may pull execution lists and record outcomes on any order."""
REASSIGN_ROLES = frozenset({"administrator", "channel_owner"})
"""Roles that may move a work order to another person's queue."""
QUEUE_ROLE_OF_CHANNEL: dict[str, str] = {"account_manager": "account_manager", "community_manager": "community_manager"}
"""Staffed channels whose orders sit in one person's queue, and the role of that person."""
QUEUE_ROLES = frozenset(QUEUE_ROLE_OF_CHANNEL.values())
"""Roles with a queue of their own: they see only their own orders of their own portfolio's customers."""

LIST_COLUMNS = ("work_order_id", "campaign_id", "subscriber_id", "customer_id", "msisdn", "segment_id",
                "channel", "due_date", "reason", "status")
UPLOAD_COLUMNS = ("work_order_id", "attempt", "reached", "response", "reason", "notes", "follow_up",
                  "contact_date")
_YES = {"y", "yes", "true", "1", "是", "接通"}
_NO = {"n", "no", "false", "0", "否", "未接通"}


def order_view(o: WorkOrder, see_pii: bool, assignee: str | None = None,
               outcomes: list[dict] | None = None) -> dict[str, Any]:
    """A work order as plain data (phone masked unless ``see_pii``)."""
    return {
        "work_order_id": o.id, "month": o.month, "campaign_id": o.campaign_id, "subscriber_id": o.subscriber_id,
        "customer_id": o.customer_id, "msisdn": o.msisdn if see_pii else mask_msisdn(o.msisdn),
        "segment_id": o.segment_id, "channel": o.channel, "assignee": assignee,
        "due_date": o.due_date.isoformat(), "expected_value": o.expected_value, "reason": o.reason,
        "warnings": o.warnings or [], "status": o.status,
        **({"outcomes": outcomes} if outcomes is not None else {}),
    }


def outcome_view(r: WorkOrderOutcome) -> dict[str, Any]:
    return {
        "work_order_id": r.work_order_id, "attempt": r.attempt, "reached": r.reached, "response": r.response,
        "reason": r.reason, "notes": r.notes, "follow_up": r.follow_up.isoformat() if r.follow_up else None,
        "contact_date": r.contact_date.isoformat(), "source": r.source, "recorded_by": r.recorded_by,
    }


@dataclass
class UploadResult:
    """Rows recorded, rows already recorded (a re-upload), and bad rows with line and reason."""

    recorded: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"recorded": self.recorded, "duplicates": self.duplicates, "errors": self.errors}


class ExecutionService:
    """Execution lists, work-order queues, reassignment and outcomes; ``actor`` is a user name."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], pii_roles: tuple[str, ...] = ("administrator",)) -> None:
        self.uow_factory = uow_factory
        self.pii_roles = pii_roles

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _user(uow: UnitOfWork, name: str) -> User:
        user = uow.users.by_name(name)
        if user is None or not user.active:
            raise NotFound(f"no active user {name!r}")
        return user

    def _see_pii(self, user: User) -> bool:
        return allows(user.role, Permission.SEE_PII, self.pii_roles)

    @staticmethod
    def _names(uow: UnitOfWork, ids: set[int | None]) -> dict[int, str]:
        out = {}
        for i in ids:
            if i is not None:
                u = uow.users.get(i)
                if u is not None:
                    out[i] = u.name
        return out

    # -- execution lists ---------------------------------------------------------------
    def execution_list(self, actor: str | None, month: str, channel: str) -> list[dict[str, Any]]:
        """The month's planned contacts on ``channel`` (phone masked unless the actor may see it).

        ``actor`` None is the command line on the server itself: it gets the masked list.
        """
        if channel not in CAMPAIGN_CHANNELS:
            raise InputError(f"unknown channel {channel!r}; one of {', '.join(CAMPAIGN_CHANNELS)}")
        with self.uow_factory() as uow:
            see = False
            if actor is not None:
                user = self._user(uow, actor)
                if user.role not in LIST_ROLES:
                    raise PermissionDenied(f"{actor} ({user.role}) may not pull execution lists")
                see = self._see_pii(user)
            orders = uow.work_orders.of_month(month, channel)
            names = self._names(uow, {o.assignee_id for o in orders})
            return [order_view(o, see, names.get(o.assignee_id or -1)) for o in orders]

    def available_lists(self, actor: str) -> list[dict[str, Any]]:
        """(month, channel, rows) of every execution list in the store, newest month first."""
        with self.uow_factory() as uow:
            user = self._user(uow, actor)
            if user.role not in LIST_ROLES:
                raise PermissionDenied(f"{actor} ({user.role}) may not pull execution lists")
            return [{"month": m, "channel": c, "rows": n} for m, c, n in uow.work_orders.lists()]

    def export_xlsx(self, actor: str | None, month: str, channel: str, out: Path) -> int:
        """Write the execution list to an Excel workbook; returns the number of rows."""
        from openpyxl import Workbook

        rows = self.execution_list(actor, month, channel)
        wb = Workbook()
        ws = wb.active
        ws.title = f"{channel} {month}"[:31]
        ws.append([*LIST_COLUMNS, "assignee"])
        for r in rows:
            ws.append([r[c] for c in LIST_COLUMNS] + [r["assignee"]])
        # A second sheet is the outcome template: filled in and uploaded back.
        up = wb.create_sheet("outcomes")
        up.append(list(UPLOAD_COLUMNS))
        for r in rows:
            up.append([r["work_order_id"], 1, None, None, None, None, None, None])
        out.parent.mkdir(parents=True, exist_ok=True)
        wb.save(out)
        return len(rows)

    # -- work orders -------------------------------------------------------------------
    def queue(self, actor: str, month: str | None = None, status: str | None = "open",
              limit: int = 200) -> list[dict[str, Any]]:
        """The actor's work orders: an account manager's own (and only in their portfolio); all for list roles."""
        with self.uow_factory() as uow:
            user = self._user(uow, actor)
            if user.role in LIST_ROLES:
                orders = [o for o in uow.work_orders.queue(month=month, status=status, limit=limit * 4)
                          if o.channel in QUEUE_ROLE_OF_CHANNEL][:limit]
            elif user.role in QUEUE_ROLES:
                # The portfolio filter is part of the query, not applied afterwards.
                orders = list(uow.work_orders.queue(assignee_id=user.id, customer_of=user.id, month=month,
                                                    status=status, limit=limit))
            else:
                raise PermissionDenied(f"{actor} ({user.role}) has no work-order queue")
            see = self._see_pii(user)
            names = self._names(uow, {o.assignee_id for o in orders})
            return [order_view(o, see, names.get(o.assignee_id or -1)) for o in orders]

    def get(self, actor: str, order_id: int) -> dict[str, Any]:
        with self.uow_factory() as uow:
            user = self._user(uow, actor)
            o = uow.work_orders.get(order_id)
            if o is None:
                raise NotFound(f"no work order {order_id}")
            self._check_access(uow, user, o)
            names = self._names(uow, {o.assignee_id})
            return order_view(o, self._see_pii(user), names.get(o.assignee_id or -1),
                              [outcome_view(r) for r in uow.work_orders.outcomes(o.id)])

    @staticmethod
    def _check_access(uow: UnitOfWork, user: User, o: WorkOrder) -> None:
        if user.role in LIST_ROLES:
            return
        if user.role in QUEUE_ROLES and o.assignee_id == user.id and user.id in uow.assignments.owners_of(
            o.customer_id
        ):
            return
        raise NotFound(f"no work order {o.id}")  # not "forbidden": do not reveal that it exists

    def reassign(self, actor: str, order_id: int, to_user: str) -> dict[str, Any]:
        """Move a work order to ``to_user``'s queue (channel owners; audited)."""
        with self.uow_factory() as uow:
            user = self._user(uow, actor)
            if user.role not in REASSIGN_ROLES:
                raise PermissionDenied(f"{actor} ({user.role}) may not reassign work orders")
            target = self._user(uow, to_user)
            o = uow.work_orders.get(order_id, lock=True)
            if o is None:
                raise NotFound(f"no work order {order_id}")
            wanted = QUEUE_ROLE_OF_CHANNEL.get(o.channel, "account_manager")
            if target.role != wanted:
                raise InputError(f"{to_user} is not a {wanted.replace('_', ' ')}; "
                                 f"a {o.channel} order goes to a {wanted.replace('_', ' ')}")
            before = {"assignee_id": o.assignee_id}
            if o.assignee_id != target.id:
                o.assignee_id = target.id
                audit.record(uow, actor, "work_order.reassign", "work_order", str(order_id), before,
                             {"assignee_id": target.id, "assignee": to_user})
            uow.commit()
            return order_view(o, self._see_pii(user), to_user)

    # -- outcomes ----------------------------------------------------------------------
    def record_outcome(
        self, actor: str, order_id: int, outcome: Outcome, attempt: int | None = None,
        contact_date: dt.date | None = None, source: str = "api",
    ) -> tuple[dict[str, Any], bool]:
        """Record one attempt; returns (the outcome, created). The same attempt sent again is not counted twice.

        ``attempt`` None takes the next number under a lock on the order; an
        explicit attempt that is already recorded with the same content is a
        no-op, with different content a :class:`Conflict`.
        """
        if attempt is not None and attempt < 1:
            raise InputError("attempt starts at 1")
        when = contact_date or dt.date.today()
        for _ in range(5):  # a lost race on the attempt number is retried with the next number
            with self.uow_factory() as uow:
                user = self._user(uow, actor)
                o = uow.work_orders.get(order_id, lock=True)
                if o is None:
                    raise NotFound(f"no work order {order_id}")
                self._check_access(uow, user, o)
                n = attempt if attempt is not None else uow.work_orders.next_attempt(o.id)
                existing = uow.work_orders.outcome(o.id, n)
                if existing is not None:
                    return self._same_or_conflict(existing, outcome, n)
                row = WorkOrderOutcome(
                    work_order_id=o.id, attempt=n, reached=outcome.reached, response=outcome.response,
                    reason=outcome.reason, notes=outcome.notes, follow_up=outcome.follow_up, contact_date=when,
                    source=source, recorded_by=actor, recorded_at=dt.datetime.now(dt.UTC),
                )
                try:
                    with uow.session.begin_nested():  # type: ignore[union-attr]
                        uow.session.add(row)  # type: ignore[union-attr]
                        uow.session.flush()  # type: ignore[union-attr]
                except IntegrityError:
                    uow.rollback()
                    if attempt is not None:
                        with self.uow_factory() as again:
                            existing = again.work_orders.outcome(order_id, n)
                            if existing is not None:
                                return self._same_or_conflict(existing, outcome, n)
                    continue
                uow.contacts.add(ContactRecord(
                    subscriber_id=o.subscriber_id, customer_id=o.customer_id, campaign_id=o.campaign_id,
                    channel=o.channel, contact_date=when, outcome=outcome.history_outcome, outcome_id=row.id,
                ))
                if outcome.reached and outcome.response in FINAL_RESPONSES:
                    o.status = "done"
                audit.record(uow, actor, "work_order.outcome", "work_order", str(o.id), None, outcome_view(row))
                view = outcome_view(row)
                uow.commit()
                return view, True
        raise Conflict(f"work order {order_id}: too many simultaneous outcomes; try again")

    @staticmethod
    def _same_or_conflict(existing: WorkOrderOutcome, outcome: Outcome, n: int) -> tuple[dict[str, Any], bool]:
        same = (existing.reached, existing.response, existing.reason, existing.notes, existing.follow_up) == (
            outcome.reached, outcome.response, outcome.reason, outcome.notes, outcome.follow_up)
        if not same:
            raise Conflict(f"work order {existing.work_order_id} attempt {n} is already recorded differently")
        return outcome_view(existing), False

    def upload_outcomes(self, actor: str, path: Path) -> UploadResult:
        """Record the outcomes of an Excel sheet (the ``outcomes`` sheet of an export, or the first sheet).

        Each row is recorded on its own: good rows are kept, bad rows come
        back with their line number and reason, a row already recorded is
        counted as a duplicate, never twice.
        """
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the caller's input error
            raise InputError(f"{path}: not a readable Excel workbook ({exc})") from None
        ws = wb["outcomes"] if "outcomes" in wb.sheetnames else wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        missing = [c for c in ("work_order_id", "attempt", "reached") if c not in header]
        if missing:
            raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
        result = UploadResult()
        for line, values in enumerate(rows, start=2):
            rec = dict(zip(header, values, strict=False))
            if all(v in (None, "") for v in rec.values()):
                continue
            if rec.get("reached") in (None, ""):
                continue  # a template row nobody filled in
            try:
                order_id, attempt, outcome, when = _parse_row(rec)
                _, created = self.record_outcome(actor, order_id, outcome, attempt, when, source="upload")
            except (InputError, NotFound, Conflict, PermissionDenied) as exc:
                result.errors.append({"line": line, "reason": str(exc)})
                continue
            if created:
                result.recorded += 1
            else:
                result.duplicates += 1
        wb.close()
        return result


def _date(value: Any, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{name}: expected a date YYYY-MM-DD, got {value!r}") from None


def _text(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return str(value).strip() or None


def _parse_row(rec: dict[str, Any]) -> tuple[int, int, Outcome, dt.date | None]:
    try:
        order_id = int(rec["work_order_id"])
        attempt = int(rec["attempt"])
    except (TypeError, ValueError):
        raise InputError("work_order_id and attempt must be whole numbers") from None
    reached_raw = str(rec.get("reached")).strip().lower()
    if reached_raw in _YES:
        reached = True
    elif reached_raw in _NO:
        reached = False
    else:
        raise InputError(f"reached must be yes or no, got {rec.get('reached')!r}")
    response, reason = _text(rec.get("response")), _text(rec.get("reason"))
    follow_up = _date(rec.get("follow_up"), "follow_up")
    problems = outcome_problems(reached, response, reason, follow_up)
    if problems:
        raise InputError("; ".join(problems))
    outcome = Outcome(reached=reached, response=response, reason=reason, notes=_text(rec.get("notes")) or "",
                      follow_up=follow_up)
    return order_id, attempt, outcome, _date(rec.get("contact_date"), "contact_date")


__all__ = ["REASONS", "RESPONSES", "ExecutionService", "UploadResult"]
