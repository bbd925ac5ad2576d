"""Grades: card grade and value level of subscribers, 1A-5A of enterprise
groups, and the credit rating (信用等级).

Thresholds are ascending lower bounds; a value at or above the n-th bound
gets the n-th grade above the lowest.

>>> GradeConfig().value_level_bounds
[600.0, 1200.0, 2400.0, 6000.0]
"""

from __future__ import annotations

from itertools import pairwise

from pydantic import BaseModel, ConfigDict, Field, model_validator

CARD_GRADES: tuple[str, ...] = ("none", "silver", "gold", "diamond")
"""Lowest first; also the order of the VIP cards held (``vip_card``)."""
CARD_REVIEWS: tuple[str, ...] = ("upgrade", "downgrade")
GROUP_GRADES: tuple[str, ...] = ("1A", "2A", "3A", "4A", "5A")
CREDIT_RATINGS: tuple[str, ...] = ("AAA", "AA", "A", "B", "C")
"""Best first."""


def card_review(held: str | None, earned: str | None) -> str | None:
    """``upgrade`` or ``downgrade`` when the card the value earns differs from the card held, else None.

    ``earned`` is ``card_grade`` (from the yearly value, config/grades.yaml);
    ``held`` the VIP card issued at the operator's last card review. Unknown
    on either side: no review.

    >>> card_review("silver", "gold"), card_review("gold", "none"), card_review("gold", "gold")
    ('upgrade', 'downgrade', None)
    """
    if held not in CARD_GRADES or earned not in CARD_GRADES:
        return None
    a, b = CARD_GRADES.index(str(held)), CARD_GRADES.index(str(earned))
    return "upgrade" if b > a else "downgrade" if b < a else None


def _ascending(values: list[float], what: str) -> None:
    if any(b <= a for a, b in pairwise(values)):
        raise ValueError(f"{what} bounds must be strictly ascending")


class CreditRule(BaseModel):
    """The rating a subscriber gets when every given bound holds (first match wins)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rating: str
    max_arrears_months: int | None = None
    max_arrears_amount: float | None = None
    min_tenure_months: int | None = None
    min_history_months: int | None = None
    """Months of history the bounds must have been seen over: "no arrears" in one month is not six clean months."""


class GradeConfig(BaseModel):
    """Thresholds for subscriber and group grades and credit ratings (yuan per year of value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    card_bounds: dict[str, float] = Field(
        default_factory=lambda: {"silver": 1200.0, "gold": 2400.0, "diamond": 6000.0}
    )
    value_level_bounds: list[float] = Field(default_factory=lambda: [600.0, 1200.0, 2400.0, 6000.0])
    group_grade_bounds: list[float] = Field(
        default_factory=lambda: [50_000.0, 200_000.0, 1_000_000.0, 5_000_000.0]
    )
    group_star_bonus_classes: list[str] = Field(default_factory=lambda: ["A"])
    key_person_group_share: float = Field(default=0.1, ge=0, le=1)
    credit: list[CreditRule] = Field(
        default_factory=lambda: [
            CreditRule(rating="AAA", max_arrears_months=0, min_tenure_months=24),
            CreditRule(rating="AA", max_arrears_months=0),
            CreditRule(rating="A", max_arrears_months=1, max_arrears_amount=0),
            CreditRule(rating="B", max_arrears_months=3),
            CreditRule(rating="C"),
        ]
    )

    @model_validator(mode="after")
    def _check(self) -> GradeConfig:
        if set(self.card_bounds) != set(CARD_GRADES[1:]):
            raise ValueError("card_bounds needs exactly silver, gold and diamond")
        _ascending([self.card_bounds[g] for g in CARD_GRADES[1:]], "card")
        if len(self.value_level_bounds) != 4:
            raise ValueError("value_level_bounds needs 4 bounds (levels 1-5)")
        _ascending(self.value_level_bounds, "value level")
        if len(self.group_grade_bounds) != 4:
            raise ValueError("group_grade_bounds needs 4 bounds (1A-5A)")
        _ascending(self.group_grade_bounds, "group grade")
        for r in self.credit:
            if r.rating not in CREDIT_RATINGS:
                raise ValueError(f"unknown credit rating {r.rating!r}")
        last = self.credit[-1] if self.credit else None
        if last is None or any(
            v is not None for v in (last.max_arrears_months, last.max_arrears_amount, last.min_tenure_months)
        ):
            raise ValueError("the last credit rule must have no bounds so every subscriber is rated")
        return self
