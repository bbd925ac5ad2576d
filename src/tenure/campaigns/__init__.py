"""Example campaign definitions shipped with Tenure (YAML under ``examples/``)."""

from __future__ import annotations

from importlib import resources

from tenure.domain.campaigns import Campaign, load_campaigns_yaml


def example_campaigns() -> list[Campaign]:
    """The example campaigns, in file-name order (the demo seeds these)."""
    folder = resources.files(__package__) / "examples"
    out: list[Campaign] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            out.extend(load_campaigns_yaml(entry.read_text(encoding="utf-8"), source=entry.name))
    return out
