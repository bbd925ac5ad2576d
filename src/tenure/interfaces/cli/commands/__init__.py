"""Command groups of the CLI; each module exposes ``register(app)``."""

from tenure.interfaces.cli.commands import (
    campaigns,
    evaluation,
    insight,
    key_accounts,
    load,
    model,
    model_calibration,
    models,
    month,
    rules,
    sla,
    synth,
    treatment,
    trigger_ops,
    triggers,
    web,
)

MODULES = [synth, load, month, rules, model, models, model_calibration, campaigns, key_accounts, evaluation, insight, triggers, trigger_ops, sla, web, treatment]
