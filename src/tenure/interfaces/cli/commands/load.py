"""CLI commands: load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, progress, report, table


def _render(doc: dict[str, Any]) -> None:
    rows = []
    for m in doc["months"]:
        for t in m["tables"]:
            rows.append(
                [
                    m["month"],
                    t["table"],
                    t["read"],
                    t["loaded"],
                    t["quarantined"],
                    f"{t['bad_share']:.2%}",
                ]
            )
        for name in m["carried_over"]:
            rows.append([m["month"], name, "kept", "", "", ""])
    console.print(table("Load", ["month", "table", "read", "loaded", "quarantined", "bad"], rows))
    for m in doc["months"]:
        state = f"published ({m['version']})" if m["published"] else "NOT published"
        console.print(
            f"{m['month']}: {state}; read {m['read']:,} = loaded {m['loaded']:,} + quarantined {m['quarantined']:,}"
        )
        for t in m["tables"]:
            if t["quarantine_file"]:
                console.print(
                    f"  {t['table']}: quarantine {t['quarantine_file']}",
                    highlight=False,
                    soft_wrap=True,
                )
                for r in t["top_reasons"]:
                    console.print(
                        f"    {r['count']:>9,}  {r['reason']}", highlight=False, soft_wrap=True
                    )
            if t["ignored_columns"]:
                console.print(
                    f"  {t['table']}: ignored unknown column(s) {', '.join(t['ignored_columns'])}"
                )
        for f in m["ignored_files"]:
            console.print(f"  ignored file (not a table): {f}", highlight=False)
    for f in doc["ignored_folders"]:
        console.print(f"ignored folder (no table files): {f}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the load commands to ``app``."""

    @app.command("load")
    def load(
        source: Annotated[
            Path, typer.Argument(help="Folder of month folders DIR/YYYY-MM/<table>.csv|.parquet.")
        ],
        month: Annotated[
            str | None, typer.Option("--month", help="Load only this month (YYYY-MM).")
        ] = None,
        encoding: Annotated[
            str | None, typer.Option("--encoding", help="utf-8, gbk or gb18030 (default: detect).")
        ] = None,
        max_bad_share: Annotated[
            float | None,
            typer.Option(
                "--max-bad-share",
                help="Refuse a month when a table has more bad rows than this share.",
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    ) -> None:
        """Validate operator files and load them into the warehouse, month by month."""
        from tenure.services.loading import LoadRefused, load_directory

        settings = get_settings()
        with progress(enabled=not as_json) as bar:
            tasks: dict[str, Any] = {}

            def on_progress(message: str) -> None:
                # "<month> <table>: <text>": one bar per table, two steps (read, checked).
                head, _, text = message.partition(": ")
                if head not in tasks:
                    tasks[head] = bar.add_task(f"{head}: {text}", total=2 if " " in head else 1)
                else:
                    bar.update(tasks[head], description=f"{head}: {text}")
                bar.advance(tasks[head])

            try:
                result = load_directory(
                    settings, source, month, encoding, max_bad_share, on_progress
                )
            except LoadRefused as refused:
                bar.stop()
                report(refused.report.to_dict(), as_json, _render)
                raise
        report(result.to_dict(), as_json, _render)
