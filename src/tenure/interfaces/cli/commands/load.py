"""CLI commands: load."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the load commands to ``app``."""
