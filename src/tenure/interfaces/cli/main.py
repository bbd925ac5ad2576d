"""Entry point of the ``tenure`` command.

Each command group lives in its own module with a ``register(app)`` function;
this module only wires them together and maps errors to exit codes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from tenure.config import get_settings
from tenure.domain import errors
from tenure.domain.rules.catalogue import RuleDefinitionError
from tenure.interfaces.cli.output import err_console

# One table: error class -> exit code. The first matching class wins.
EXIT_CODES: list[tuple[type[errors.TenureError], int]] = [
    (errors.RuleSyntaxError, 3),
    (RuleDefinitionError, 3),  # a rules file with problems, wherever it is read: as `rules check` says it
    (errors.LoadError, 4),
    (errors.InputError, 2),
    (errors.ConfigurationError, 6),
    (errors.NotFound, 7),
    (errors.PermissionDenied, 8),
    (errors.AuthenticationFailed, 8),
    (errors.Conflict, 9),
    (errors.EngineError, 10),
    (errors.TenureError, 1),
]


def exit_code_for(exc: errors.TenureError) -> int:
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return 1


class TenureGroup(TyperGroup):
    """Turns TenureError into a one-line message and a stable exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.TenureError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(exit_code_for(exc)) from None


app = typer.Typer(
    cls=TenureGroup,
    help="Tenure: customer lifecycle management and retention for telecom operators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    home: Annotated[
        Path | None,
        typer.Option("--home", envvar="TENURE_HOME", help="Data location (default ./tenure-data)."),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option("--engine", envvar="TENURE_ENGINE", help="Analytics engine: duckdb or spark."),
    ] = None,
) -> None:
    if home is not None:
        os.environ["TENURE_HOME"] = str(home)
    if engine is not None:
        os.environ["TENURE_ENGINE"] = engine
    get_settings.cache_clear()


def _register_all() -> None:
    from tenure.interfaces.cli import commands

    for module in commands.MODULES:
        module.register(app)


_register_all()
