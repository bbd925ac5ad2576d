"""CLI commands: month."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the month commands to ``app``."""
