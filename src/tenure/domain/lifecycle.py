"""The five lifecycle stages (客户生命周期五阶段) and the rules that assign them.

Stage rules are evaluated in the configured order and the first that matches
decides the stage, so every subscriber is in exactly one stage; the last rule
has no condition and catches everyone left.

>>> [s.code for s in STAGES]
['A', 'B', 'C', 'D', 'E']
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, model_validator

from tenure.domain.core_customers import Condition


@dataclass(frozen=True)
class Stage:
    code: str
    name_en: str
    name_zh: str
    question: str


STAGES: tuple[Stage, ...] = (
    Stage("A", "Acquisition", "获取", "how to find and win potential customers"),
    Stage("B", "Buildup", "提升", "how to grow them into high-value customers"),
    Stage("C", "Climax", "成熟", "how to keep them loyal"),
    Stage("D", "Decline", "衰退", "how to extend their life"),
    Stage("E", "Exit", "离网", "how to win them back"),
)
STAGE_CODES: tuple[str, ...] = tuple(s.code for s in STAGES)


class StageRule(BaseModel):
    """``stage`` applies when ``when`` holds (no ``when``: always)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    stage: str
    when: Condition | None = None


class LifecycleConfig(BaseModel):
    """Ordered stage rules; the first match wins, the last is unconditional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: list[StageRule]

    @model_validator(mode="after")
    def _check(self) -> LifecycleConfig:
        if not self.rules:
            raise ValueError("lifecycle needs at least one rule")
        for r in self.rules:
            if r.stage not in STAGE_CODES:
                raise ValueError(f"rule {r.id}: unknown stage {r.stage!r}")
        if self.rules[-1].when is not None:
            raise ValueError("the last lifecycle rule must have no condition (everyone gets a stage)")
        if any(r.when is None for r in self.rules[:-1]):
            raise ValueError("only the last lifecycle rule may be unconditional")
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("lifecycle rule ids must be unique")
        return self
