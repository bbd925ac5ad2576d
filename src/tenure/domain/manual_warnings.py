"""Manual early warnings: a person (usually the account manager) heard of a crisis.

The reason comes from a short controlled list, so warnings can be counted and
routed like the daily ones; the free text says what was heard. Severity uses
the daily warnings' scale (1 = most urgent). Each reason names the strategy
family that answers it, as the model's and the daily reasons do.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenure.domain.errors import InputError

SERVICE_CARE = "service_care"
MARKETING_CARE = "marketing_care"

REASONS: dict[str, tuple[str, str, str]] = {
    # code: (English, Chinese, family)
    "competitor_offer": ("a competitor is courting the customer", "竞争对手正在策反该客户", MARKETING_CARE),
    "port_out_intent": ("said they intend to port out or cancel", "表示有携号转网或销户意向", MARKETING_CARE),
    "price_dispute": ("unhappy with price or billing", "对资费或账单不满", MARKETING_CARE),
    "service_dispute": ("unresolved service problem or dispute", "服务问题或纠纷未解决", SERVICE_CARE),
    "network_problem": ("network quality problem where they are", "所在地网络质量问题", SERVICE_CARE),
    "business_change": ("business moving, shrinking or closing", "经营变化（搬迁、缩减、停业）", MARKETING_CARE),
    "key_contact_left": ("their key contact person left", "关键联系人离职", MARKETING_CARE),
    "other": ("other (see the note)", "其他（见说明）", MARKETING_CARE),
}

SEVERITIES: dict[int, tuple[str, str]] = {
    1: ("urgent", "紧急"),
    2: ("high", "高"),
    3: ("normal", "一般"),
}

NOTE_MAX = 500
OPEN = "open"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class WarningInput:
    """A checked request to raise a warning."""

    reason: str
    severity: int
    note: str
    subscriber_id: str | None = None

    @property
    def family(self) -> str:
        return REASONS[self.reason][2]


def check(reason: str, severity: int | str, note: str | None, subscriber_id: str | None = None) -> WarningInput:
    """Validate a request; InputError naming every problem.

    >>> check("competitor_offer", "1", " offered a cheaper plan ").note
    'offered a cheaper plan'
    >>> check("other", 2, "")
    Traceback (most recent call last):
    ...
    tenure.domain.errors.InputError: reason "other" needs a note saying what was heard
    """
    problems = []
    reason = (reason or "").strip()
    if reason not in REASONS:
        problems.append(f"reason must be one of {', '.join(REASONS)}")
    try:
        level = int(severity)
    except (TypeError, ValueError):
        level = 0
    if level not in SEVERITIES:
        problems.append("severity must be 1 (urgent), 2 (high) or 3 (normal)")
    text = (note or "").replace("\x00", "").strip()
    if len(text) > NOTE_MAX:
        problems.append(f"the note is at most {NOTE_MAX} characters")
    if reason == "other" and not text:
        problems.append('reason "other" needs a note saying what was heard')
    sub = (subscriber_id or "").strip() or None
    if sub is not None and (len(sub) > 64 or "\x00" in sub):
        problems.append("subscriber id is at most 64 characters")
    if problems:
        raise InputError("; ".join(problems))
    return WarningInput(reason=reason, severity=level, note=text, subscriber_id=sub)
