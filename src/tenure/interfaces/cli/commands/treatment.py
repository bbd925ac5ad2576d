"""CLI commands: synth-respond (the synthetic operator reacts to a plan) and uplift (uplift models)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table

uplift_app = typer.Typer(help="Uplift models: who is persuadable, learned from campaigns with control groups.",
                         no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _render_respond(doc: dict[str, Any]) -> None:
    rows = [[cid, c["family"], c["treated_n"], c["kept"], c["woken"],
             *[f"{c[f'true_effect_{h}']:+.4f}" for h in (1, 2, 3)]] for cid, c in doc["campaigns"].items()]
    console.print(table(f"Responses to the plan of {doc['plan_month']} (true effect on the churn rate, treated arm)",
                        ["campaign", "family", "treated", "kept", "woken", "+1", "+2", "+3"], rows))
    console.print(f"treated {doc['treated']:,}, control {doc['control']:,} (untouched); "
                  f"regenerated {', '.join(doc['regenerated']) or '-'}; reloaded {', '.join(doc['reloaded']) or '-'}",
                  highlight=False)


def _render_uplift(doc: dict[str, Any]) -> None:
    rows = [[m["learner"], m["strategy"], m["train_rows"], m["test_rows"], f"{m['qini']:+.4f}",
             f"{m['uplift_at_k']:+.4f}", m.get("path", "")] for m in doc["models"]]
    console.print(table(f"Uplift models until {doc['until']} (held out: {doc['test_months']})",
                        ["learner", "strategy", "train", "test", "Qini", "uplift@30%", "file"], rows))


def register(app: typer.Typer) -> None:
    """Add synth-respond and the uplift group to ``app``."""

    @app.command("synth-respond")
    def synth_respond(
        plan_month: Annotated[str, typer.Option("--plan-month", help="The planned month (YYYY-MM).")],
        data: Annotated[Path, typer.Option("--data", help="The folder `tenure synth` wrote.")],
        no_reload: Annotated[bool, typer.Option("--no-reload", help="Do not reload the later months.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Apply the synthetic operator's hidden responses to care to the treated arm of a month's plan."""
        from tenure.bootstrap import build
        from tenure.services.treatment_response import respond_to_plan

        settings = get_settings()
        services = build(settings)
        try:
            doc = respond_to_plan(settings, data, plan_month, services.uow, reload=not no_reload)
        finally:
            services.close()
        report(doc, as_json, _render_respond)

    @uplift_app.command("train")
    def uplift_train(
        strategy: Annotated[str, typer.Option("--strategy", help="Strategy id, or 'all'.")] = "all",
        until: Annotated[str, typer.Option("--until", help="Last plan month used (YYYY-MM).")] = "",
        test_months: Annotated[int, typer.Option("--test-months", help="Latest plan months held out.")] = 1,
        horizon: Annotated[int, typer.Option("--horizon", help="Churn within this many months.")] = 3,
        as_json: JsonOpt = False,
    ) -> None:
        """Train the two-model and transformed-outcome uplift learners and store them with their Qini."""
        from tenure.bootstrap import build
        from tenure.services.uplift import UpliftService

        settings = get_settings()
        services = build(settings)
        try:
            doc = UpliftService(services.warehouse, services.uow, settings.home).train(
                strategy=strategy, until=until or None, test_months=test_months, horizon=horizon)
        finally:
            services.close()
        report(doc, as_json, _render_uplift)

    @uplift_app.command("show")
    def uplift_show(as_json: JsonOpt = False) -> None:
        """The stored uplift models and their held-out metrics."""
        from tenure.engines.warehouse import Warehouse
        from tenure.services.uplift import UpliftService

        settings = get_settings()
        doc = UpliftService(Warehouse(settings.warehouse_dir), None, settings.home).show()
        report(doc, as_json, _render_uplift)

    app.add_typer(uplift_app, name="uplift")
