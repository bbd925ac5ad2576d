"""CLI commands: synth (the synthetic operator) and load-public (public churn data sets)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, progress, report, table


def _render_synth(doc: dict[str, Any]) -> None:
    secs = doc["seconds"] or 1e-9
    rows = [[name, n, f"{n / secs:,.0f}"] for name, n in doc["rows"].items()]
    rows.append(["total", doc["total_rows"], f"{doc['rows_per_second']:,.0f}"])
    console.print(table(f"Synthetic operator in {doc['out']}", ["table", "rows", "rows/s"], rows))
    console.print(
        f"{doc['subscribers']:,} subscribers, {len(doc['months'])} months ({doc['months'][0]} .. {doc['months'][-1]}), "
        f"seed {doc['seed']}, {doc['format']} {doc['encoding']}; {doc['defects']:,} defects injected; "
        f"{doc['seconds']:.1f} s, {doc['rows_per_second']:,.0f} rows/s",
        highlight=False,
    )


def _render_public(doc: dict[str, Any]) -> None:
    rows = [[name, n] for name, n in doc["rows"].items()]
    console.print(table(f"{doc['dataset']} mapped to {doc['month']} ({doc['source_rows']:,} source rows)",
                        ["table", "rows"], rows))
    console.print(f"canonical files: {doc['folder']}\nlabels and unmapped columns: {doc['extra_file']}",
                  highlight=False, soft_wrap=True)
    if doc["load"]:
        for m in doc["load"]["months"]:
            state = "published" if m["published"] else "NOT published"
            console.print(f"{m['month']}: {state}; loaded {m['loaded']:,} of {m['read']:,} rows", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the synth commands to ``app``."""

    @app.command("synth")
    def synth(
        subscribers: Annotated[int, typer.Option("--subscribers", min=1, help="Subscriptions active at the first month.")],
        months: Annotated[int, typer.Option("--months", min=1, help="Number of months to write.")],
        out: Annotated[Path, typer.Option("--out", help="Folder to write DIR/YYYY-MM/<table>.csv into.")],
        seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 1,
        end: Annotated[str, typer.Option("--end", help="Last month (YYYY-MM).")] = "2026-10",
        dirty: Annotated[float, typer.Option("--dirty", help="Share of rows per table given a recorded defect.")] = 0.0,
        fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
        encoding: Annotated[str, typer.Option("--encoding", help="utf-8 or gbk (GB18030) for CSV.")] = "utf-8",
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Write a believable synthetic operator (every canonical table, per month) with ground truth."""
        from tenure.synthetic import generate

        with progress(enabled=not as_json) as bar:
            task = bar.add_task("generating", total=None)

            def on_step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = generate(out, subscribers, months, seed, end=end, dirty=dirty, fmt=fmt,
                              encoding=encoding, on_step=on_step)
        report(result.as_dict(), as_json, _render_synth)

    @app.command("load-public")
    def load_public_cmd(
        dataset: Annotated[str, typer.Argument(help="ibm-telco or mlc-churn.")],
        path: Annotated[Path, typer.Argument(help="The data set's CSV file or its folder.")],
        month: Annotated[str, typer.Option("--month", help="Month the data set is placed in (YYYY-MM).")] = "2026-10",
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Map a public churn data set into the canonical model for one month and load it."""
        from tenure.services.public_data import load_public

        result = load_public(get_settings(), dataset, path, month)
        report(result.to_dict(), as_json, _render_public)
