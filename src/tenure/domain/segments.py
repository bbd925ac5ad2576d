"""Micro-segments and feature tags (细分客户群与特征标签).

Segments follow the Fujian programme's two axes for core customers:
lifecycle (growing, mature, declining, exiting) x features (preference,
downgrade signs, churn signs), for each population (ordinary core
customers, VIPs, key persons of groups). A cell of the grid is one
micro-segment; non-core subscribers share one general segment.

Tags are independent: a subscriber carries every tag whose condition holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, model_validator

from tenure.domain.core_customers import Condition


class Named(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name_en: str
    name_zh: str


class Population(Named):
    """A population of core customers; ``when`` absent means every other core customer."""

    when: Condition | None = None


class LifecycleCell(Named):
    """Stages grouped on the lifecycle axis; ``split_by_features`` false makes one cell."""

    stages: list[str]
    split_by_features: bool = True


class FeatureState(Named):
    """A state on the feature axis; ``when`` absent means the default state."""

    when: Condition | None = None


class Tag(Named):
    when: Condition


@dataclass(frozen=True)
class Segment:
    id: str
    name_en: str
    name_zh: str
    population: str
    lifecycle: str
    feature: str | None


class SegmentConfig(BaseModel):
    """Axes of the segment grid, the general segment and the tag definitions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    populations: list[Population]
    lifecycle: list[LifecycleCell]
    features: list[FeatureState]
    general: Named
    tags: list[Tag] = []

    @model_validator(mode="after")
    def _check(self) -> SegmentConfig:
        if self.populations[-1].when is not None or any(p.when is None for p in self.populations[:-1]):
            raise ValueError("only the last population is unconditional")
        if self.features[-1].when is not None or any(f.when is None for f in self.features[:-1]):
            raise ValueError("only the last feature state is unconditional")
        stages = [s for cell in self.lifecycle for s in cell.stages]
        if sorted(stages) != ["A", "B", "C", "D", "E"]:
            raise ValueError("lifecycle cells must cover stages A-E exactly once")
        ids = [t.id for t in self.tags]
        if len(ids) != len(set(ids)):
            raise ValueError("tag ids must be unique")
        return self

    def segments(self) -> list[Segment]:
        """Every micro-segment of the grid, then the general segment."""
        out = []
        for p in self.populations:
            for cell in self.lifecycle:
                states: list[FeatureState | None] = list(self.features) if cell.split_by_features else [None]
                for f in states:
                    sid = f"{p.id}.{cell.id}" + (f".{f.id}" if f else "")
                    name_en = f"{p.name_en} / {cell.name_en}" + (f" / {f.name_en}" if f else "")
                    name_zh = f"{p.name_zh}·{cell.name_zh}" + (f"·{f.name_zh}" if f else "")
                    out.append(Segment(sid, name_en, name_zh, p.id, cell.id, f.id if f else None))
        out.append(Segment(self.general.id, self.general.name_en, self.general.name_zh, "general", "", None))
        return out
