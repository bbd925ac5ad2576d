"""Outcomes of a retention contact (维系结果): reached or not, the customer's answer, and why.

Reasons come from one controlled list so the weekly report can count them;
free text goes in the notes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tenure.domain.errors import InputError

RESPONSES: tuple[str, ...] = ("accepted", "refused", "thinking")
"""The customer's answer to the offer, when reached."""

REASONS: tuple[str, ...] = (
    "price",               # 资费太高
    "competitor_offer",    # 竞争对手优惠
    "network_quality",     # 网络质量
    "service_complaint",   # 服务投诉
    "moving_away",         # 迁出本地
    "no_need",             # 无需求
    "contract_terms",      # 合约限制
    "already_left",        # 已离网
    "other",               # 其他
)
"""Why a customer refused the offer or left (a controlled list)."""

FINAL_RESPONSES: frozenset[str] = frozenset({"accepted", "refused"})
"""Answers that close a work order; ``thinking`` keeps it open for a follow-up."""


@dataclass(frozen=True)
class Outcome:
    """One contact attempt's result."""

    reached: bool
    response: str | None = None
    reason: str | None = None
    notes: str = ""
    follow_up: dt.date | None = None

    def __post_init__(self) -> None:
        problems = outcome_problems(self.reached, self.response, self.reason, self.follow_up)
        if problems:
            raise InputError("; ".join(problems))

    @property
    def history_outcome(self) -> str:
        """The outcome as the contact history (and the planner's cool-down) knows it.

        >>> Outcome(reached=False).history_outcome
        'no_answer'
        """
        if not self.reached:
            return "no_answer"
        return self.response or "reached"


def outcome_problems(reached: bool, response: str | None, reason: str | None,
                     follow_up: dt.date | None) -> list[str]:
    """Everything wrong with an outcome, in words (empty when it is valid).

    >>> outcome_problems(False, "accepted", None, None)
    ['a customer who was not reached cannot answer']
    """
    out: list[str] = []
    if response is not None and response not in RESPONSES:
        out.append(f"response must be one of {', '.join(RESPONSES)}")
    if reason is not None and reason not in REASONS:
        out.append(f"reason must be one of {', '.join(REASONS)}")
    if not reached and response is not None:
        out.append("a customer who was not reached cannot answer")
    if reason is not None and response == "accepted":
        out.append("an accepted offer takes no refusal reason")
    if response == "thinking" and follow_up is None:
        out.append("a customer who is thinking needs a follow-up date")
    return out
