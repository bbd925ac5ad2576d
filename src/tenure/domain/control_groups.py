"""Control groups: who is held out of a campaign, deterministically.

Each (subscriber, campaign) pair gets a *draw*: the first 32 bits of the MD5
of ``"<subscriber_id>|<campaign_id>"`` read as a fraction in [0, 1). The
draw depends on nothing else, so it is the same on every rerun, on every
engine and whatever the order of the rows.

Within each stratum (segment × risk decile) of a campaign's assigned
customers, the ``round(share × n)`` customers with the lowest draws are the
control group. Taking an exact quota per stratum, rather than "draw < share"
per customer, keeps treated and control balanced on segment and risk even in
small strata. A customer with a low draw stays in control when the population
changes a little, because only the quota boundary moves.

The optional global control group is keyed on ``(subscriber, quarter)``: a
small share of all subscribers that no campaign touches for a quarter, drawn
afresh each quarter so the same customers are not left out forever. It
measures the effect of the retention programme as a whole.

The analytics planner computes the same draws with Ibis (``MD5`` and
``ASCII``); :func:`draw` here is the reference the tests compare it to.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable

HASH_HEX_DIGITS = 8
"""Hex digits of the MD5 used for a draw (32 bits)."""

SEPARATOR = "|"


def draw_key(subscriber_id: str, campaign_id: str) -> str:
    """The text hashed for a (subscriber, campaign) draw."""
    return f"{subscriber_id}{SEPARATOR}{campaign_id}"


def global_key(subscriber_id: str, quarter: str) -> str:
    """The text hashed for the global-control draw of ``quarter`` (e.g. ``2026Q4``)."""
    return f"{subscriber_id}{SEPARATOR}global{SEPARATOR}{quarter}"


def uniform(key: str) -> float:
    """A deterministic fraction in [0, 1) for ``key``.

    >>> uniform("s1|c1") == uniform("s1|c1")
    True
    >>> 0 <= uniform("anything") < 1
    True
    """
    # MD5 because every engine has it; it spreads ids evenly, it guards nothing.
    digest = hashlib.md5(key.encode("utf-8")).hexdigest()
    return int(digest[:HASH_HEX_DIGITS], 16) / 16**HASH_HEX_DIGITS


def draw(subscriber_id: str, campaign_id: str) -> float:
    """The control draw of a subscriber for a campaign, uniform on [0, 1)."""
    return uniform(draw_key(subscriber_id, campaign_id))


def quarter_of(month: str) -> str:
    """The quarter of a ``YYYY-MM`` month.

    >>> quarter_of("2026-11")
    '2026Q4'
    """
    year, mon = month.split("-")
    return f"{year}Q{(int(mon) - 1) // 3 + 1}"


def in_global_control(subscriber_id: str, month: str, share: float) -> bool:
    """True when the subscriber is in the global control group for the quarter of ``month``."""
    return share > 0 and uniform(global_key(subscriber_id, quarter_of(month))) < share


def control_quota(share: float, stratum_size: int) -> int:
    """How many of a stratum of ``stratum_size`` customers are held out: ``share × n`` rounded half up.

    >>> control_quota(0.1, 25), control_quota(0.1, 24), control_quota(0.1, 4)
    (3, 2, 0)
    """
    return math.floor(share * stratum_size + 0.5)


def assign_controls(
    members: Iterable[tuple[str, Hashable]], campaign_id: str, share: float
) -> set[str]:
    """Subscribers of ``members`` (``(subscriber_id, stratum)`` pairs) held out as control.

    Within each stratum the :func:`control_quota` lowest draws (ties by
    subscriber id) form the control group. This is the reference
    implementation of what the planner does with window functions.
    """
    strata: dict[Hashable, list[tuple[float, str]]] = defaultdict(list)
    for subscriber_id, stratum in members:
        strata[stratum].append((draw(subscriber_id, campaign_id), subscriber_id))
    held: set[str] = set()
    for rows in strata.values():
        rows.sort()
        held.update(s for _, s in rows[: control_quota(share, len(rows))])
    return held
