"""CLI commands: sla."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the sla commands to ``app``."""
