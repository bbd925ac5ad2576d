"""CLI commands: synth."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the synth commands to ``app``."""
