"""Command groups of the CLI; each module exposes ``register(app)``."""

from tenure.interfaces.cli.commands import (
    campaigns,
    key_accounts,
    load,
    model,
    month,
    rules,
    sla,
    synth,
    web,
)

MODULES = [synth, load, month, rules, model, campaigns, key_accounts, sla, web]
