"""CLI commands: web (``serve``), users (``user add|list|set``) and portfolio ``assign``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from tenure.config import get_settings
from tenure.domain.errors import InputError
from tenure.interfaces.cli.output import console, report, table


def _services():  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build

    return build(get_settings())


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
) -> None:
    """Start the web application (pages and JSON API) with uvicorn."""
    import uvicorn

    from tenure.interfaces.web.app import create_app

    settings = get_settings()
    app = create_app(settings)
    console.print(f"Tenure on http://{host}:{port}/  (home {settings.home.resolve()})")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


user_app = typer.Typer(help="Users of the web application.", no_args_is_help=True)


def _read_password(password_file: Path | None, prompt: bool) -> str | None:
    if password_file is not None:
        text = password_file.read_text(encoding="utf-8").strip()
        if not text:
            raise InputError(f"{password_file} is empty")
        return text
    if not prompt:
        return None
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise InputError("the two passwords differ")
    return first


def _user_doc(v) -> dict:  # type: ignore[no-untyped-def]
    return {"name": v.name, "display_name": v.display_name, "role": v.role, "locale": v.locale,
            "active": v.active, "locked": v.locked, "customers": list(v.customers), "regions": list(v.regions)}


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Sign-in name.")],
    role: Annotated[str, typer.Option("--role", help="administrator, analyst, retention_manager, channel_owner, "
                                                     "account_manager, community_manager or viewer.")],
    password_file: Annotated[Path | None, typer.Option("--password-file", exists=True, dir_okay=False,
                                                       help="Read the password from this file.")] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    locale: Annotated[str | None, typer.Option("--locale", help="zh_CN or en.")] = None,
    no_password: Annotated[bool, typer.Option("--no-password", help="Create without a password (API token only).")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a user (the password is asked for unless --password-file or --no-password)."""
    password = None if no_password else _read_password(password_file, prompt=True)
    view = _services().users.add(None, name, role, password=password, display_name=display_name, locale=locale)
    doc = _user_doc(view)
    report(doc, as_json, lambda d: console.print(
        f"User [bold]{d['name']}[/] ({d['role']}) created. Sign in at /login with that name and password."))


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users, their roles and portfolios."""
    docs = [_user_doc(v) for v in _services().users.list(None)]
    report(docs, as_json, lambda ds: console.print(table(
        "Users", ["name", "display name", "role", "locale", "active", "customers", "regions"],
        [[d["name"], d["display_name"], d["role"], d["locale"], "yes" if d["active"] else "no",
          len(d["customers"]), ", ".join(d["regions"])] for d in ds])))


@user_app.command("set")
def user_set(
    name: Annotated[str, typer.Argument()],
    role: Annotated[str | None, typer.Option("--role")] = None,
    active: Annotated[bool | None, typer.Option("--active/--disabled")] = None,
    locale: Annotated[str | None, typer.Option("--locale")] = None,
    password_file: Annotated[Path | None, typer.Option("--password-file", exists=True, dir_okay=False)] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change a user's role, status, language or password."""
    password = _read_password(password_file, prompt=False)
    view = _services().users.update(None, name, role=role, active=active, locale=locale, password=password)
    report(_user_doc(view), as_json, lambda d: console.print(f"User [bold]{d['name']}[/] updated."))


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="User the token acts as.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create an API token for a system integration (printed once)."""
    token_id, clear = _services().auth.create_token(None, name, label)
    report({"id": token_id, "token": clear}, as_json,
           lambda d: console.print(f"Token {d['id']} (shown once): [bold]{d['token']}[/]"))


def assign(
    name: Annotated[str, typer.Argument(help="Account manager or channel owner.")],
    customers: Annotated[list[str] | None, typer.Option("--customer", "-c", help="Customer id (repeatable).")] = None,
    customers_file: Annotated[Path | None, typer.Option("--customers-file", exists=True, dir_okay=False,
                                                        help="File with one customer id per line.")] = None,
    regions: Annotated[list[str] | None, typer.Option("--region", "-r", help="Region (repeatable).")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove instead of add.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Assign customers to an account manager's portfolio (or regions to a channel owner)."""
    ids = list(customers or [])
    if customers_file is not None:
        ids += [line.strip() for line in customers_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    view = _services().users.assign(None, name, customers=ids, regions=list(regions or []), remove=remove)
    doc = _user_doc(view)
    report(doc, as_json, lambda d: console.print(
        f"{d['name']}: {len(d['customers'])} customers, regions: {', '.join(d['regions']) or '-'}"))


def register(app: typer.Typer) -> None:
    """Add the web commands to ``app``."""
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.command("assign")(assign)
