"""Command groups of the CLI; each module exposes ``register(app)``."""

from tenure.interfaces.cli.commands import data

MODULES = [data]
