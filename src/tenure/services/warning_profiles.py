"""Open manual warnings as profile fields, wherever profiles are read: planning, triggers, the dashboard.

An account manager's warning (``services/manual_warnings.py``, store table
``manual_warnings``) is on a customer; every subscription of that customer
carries two fields (``domain/measures.py``, :data:`MANUAL_WARNING_ATTRIBUTES`):

- ``manual_warning`` (bool): the customer has an open manual warning;
- ``manual_warning_severity`` (number): the most urgent open one (1 = urgent,
  2 = high, 3 = normal), null without one.

So a campaign target filter or a trigger condition can say
``manual_warning and manual_warning_severity <= 2``. The monthly plan reads the
warnings open when it plans and raised by the end of the plan month (a
withdrawn warning no longer counts; re-planning a past month does not pick up
later warnings). The trigger intake reads the open set once and refreshes it
at most every ``refresh_seconds``, so a lookup stays one dict hit.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ibis
import pyarrow as pa
from sqlalchemy import select

from tenure.domain import manual_warnings as mw
from tenure.domain.measures import MANUAL_WARNING_ATTRIBUTES
from tenure.engines.store.unit_of_work import UnitOfWork
from tenure.engines.store.warning_models import ManualWarning

FLAG = "manual_warning"
SEVERITY = "manual_warning_severity"
assert set(MANUAL_WARNING_ATTRIBUTES) == {FLAG, SEVERITY}

OpenWarnings = Callable[[], Mapping[str, int]]
"""() -> customer id -> most urgent severity of its open manual warnings."""


def open_manual_warnings(uow_factory: Callable[[], UnitOfWork], customer_ids: Iterable[str] | None = None,
                         raised_until: dt.datetime | None = None) -> dict[str, int]:
    """Customers with an open manual warning -> their most urgent severity (1 = most urgent).

    ``raised_until``: only warnings raised at or before that time (UTC).
    """
    with uow_factory() as uow:
        s = uow.session
        assert s is not None
        q = select(ManualWarning.customer_id, ManualWarning.severity).where(ManualWarning.status == mw.OPEN)
        if customer_ids is not None:
            q = q.where(ManualWarning.customer_id.in_(list(customer_ids)))
        if raised_until is not None:
            q = q.where(ManualWarning.raised_at <= raised_until)
        out: dict[str, int] = {}
        for cid, sev in s.execute(q).all():
            out[cid] = min(int(sev), out.get(cid, int(sev)))
    return out


def open_manual_rows(uow_factory: Callable[[], UnitOfWork]) -> list[tuple[str, str, int]]:
    """Every open manual warning as (customer id, family, severity), for counting (the dashboard)."""
    with uow_factory() as uow:
        s = uow.session
        assert s is not None
        q = select(ManualWarning.customer_id, ManualWarning.family, ManualWarning.severity).where(
            ManualWarning.status == mw.OPEN).order_by(ManualWarning.id)
        return [(str(c), str(f), int(v)) for c, f, v in s.execute(q).all()]


def month_end_utc(month: str) -> dt.datetime:
    """The last instant of ``YYYY-MM`` (UTC): warnings raised by then count for that month's plan."""
    first = dt.date.fromisoformat(f"{month}-01")
    nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=dt.UTC) - dt.timedelta(microseconds=1)


# -- planning ------------------------------------------------------------------------------------
def with_manual_warnings(con: Any, profiles: ibis.Table, open_by_customer: Mapping[str, int],
                         name: str = "plan") -> ibis.Table:
    """``profiles`` with ``manual_warning`` (bool, never null) and ``manual_warning_severity`` (int64).

    The open warnings become a small temporary table joined on ``customer_id``; profiles that
    already carry the columns are returned unchanged.
    """
    if FLAG in profiles.columns or SEVERITY in profiles.columns:
        return profiles
    keys = sorted(open_by_customer)
    w = con.create_table(
        f"_manual_warnings_{re.sub(r'[^A-Za-z0-9_]', '_', name)}",
        pa.table({"_mw_customer": pa.array(keys, pa.string()),
                  "_mw_severity": pa.array([int(open_by_customer[k]) for k in keys], pa.int64())}),
        temp=True, overwrite=True,
    )
    t = profiles.left_join(w, profiles.customer_id.cast("string") == w._mw_customer)
    return t.mutate(**{FLAG: t._mw_customer.notnull(), SEVERITY: t._mw_severity}).drop("_mw_customer", "_mw_severity")


# -- triggers ------------------------------------------------------------------------------------
ProfileLookup = Callable[[str], Mapping[str, Any] | None]


def names_manual_warning(conditions: Iterable[str]) -> bool:
    """True when a condition names ``manual_warning`` or ``manual_warning_severity``."""
    words = {w for c in conditions for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", c)}
    return bool(words & {FLAG, SEVERITY})


def lookup_with_manual_warnings(lookup: ProfileLookup, open_warnings: OpenWarnings,
                                refresh_seconds: float = 30.0,
                                clock: Callable[[], float] = time.monotonic) -> ProfileLookup:
    """A profile lookup whose rows also carry the two manual-warning fields of the row's customer.

    The open set is read with ``open_warnings()`` on first use and again at most every
    ``refresh_seconds``; an unknown subscriber stays unknown (``None``).
    """
    held: dict[str, Any] = {"at": None, "open": {}}

    def wrapped(subscriber_id: str) -> Mapping[str, Any] | None:
        row = lookup(subscriber_id)
        if row is None:
            return None
        now = clock()
        if held["at"] is None or now - held["at"] >= refresh_seconds:
            held["open"], held["at"] = dict(open_warnings()), now
        sev = held["open"].get(str(row.get("customer_id") or ""))
        return {**row, FLAG: sev is not None, SEVERITY: sev}

    return wrapped


def trigger_profiles(services: Any, triggers: Sequence[Any], refresh_seconds: float = 60.0) -> ProfileLookup:
    """The intake's profile lookup (``warehouse_profiles``), with the manual-warning fields when a trigger's
    condition names them (otherwise the store is not read at all)."""
    from tenure.services.triggers import warehouse_profiles

    lookup = warehouse_profiles(services.warehouse, triggers, refresh_seconds=refresh_seconds)
    if not names_manual_warning(t.condition for t in triggers):
        return lookup
    uow = services.uow
    return lookup_with_manual_warnings(lookup, lambda: open_manual_warnings(uow),
                                       refresh_seconds=min(refresh_seconds, 30.0))
