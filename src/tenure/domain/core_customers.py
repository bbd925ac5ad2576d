"""Core customers (核心客户): who counts as one, as configuration.

A definition is an ordered list of criteria; a subscriber is core when any
criterion matches and ``core_reason`` names the first one that does. Criteria
are :class:`Condition` trees over columns of the features table, so an
operator changes the definition in ``config/core_customers.yaml`` without
touching code.

>>> c = Condition(column="arpu_avg3", op="ge", value=80)
>>> c.columns()
{'arpu_avg3'}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Op = Literal["eq", "ne", "in", "not_in", "ge", "gt", "le", "lt", "is_null", "not_null"]


class Condition(BaseModel):
    """A test on one column, or an ``all`` / ``any`` of nested conditions.

    Exactly one of ``column``, ``all`` or ``any`` is given. A null column value
    never satisfies a comparison (so ``ne`` against null is false too).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    column: str | None = None
    op: Op = "eq"
    value: Any = None
    all_of: list[Condition] | None = Field(default=None, alias="all")
    any_of: list[Condition] | None = Field(default=None, alias="any")

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = sum(x is not None for x in (self.column, self.all_of, self.any_of))
        if forms != 1:
            raise ValueError("a condition has exactly one of: column, all, any")
        if self.column is not None and self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"{self.op} needs a list value")
        if self.column is not None and self.op not in ("is_null", "not_null") and self.value is None:
            raise ValueError(f"condition on {self.column} needs a value")
        return self

    def columns(self) -> set[str]:
        """Every column the condition reads."""
        if self.column is not None:
            return {self.column}
        out: set[str] = set()
        for c in self.all_of or self.any_of or []:
            out |= c.columns()
        return out


class CoreCriterion(BaseModel):
    """One way of being a core customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name_en: str
    name_zh: str
    when: Condition


class CoreDefinition(BaseModel):
    """The ordered criteria; the first that matches is the ``core_reason``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "core customers"
    criteria: list[CoreCriterion]

    @model_validator(mode="after")
    def _unique(self) -> CoreDefinition:
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("core customer criteria ids must be unique")
        if not ids:
            raise ValueError("a core customer definition needs at least one criterion")
        return self
