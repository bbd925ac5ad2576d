"""Command groups of the CLI; each module exposes ``register(app)``."""

from tenure.interfaces.cli.commands import load, model, month, rules, sla, synth, web

MODULES = [synth, load, month, rules, model, sla, web]
