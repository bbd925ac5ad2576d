"""Command groups of the CLI; each module exposes ``register(app)``."""

from tenure.interfaces.cli.commands import campaigns, load, model, month, rules, sla, synth, web

MODULES = [synth, load, month, rules, model, campaigns, sla, web]
