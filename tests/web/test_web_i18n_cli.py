"""Message catalogues, locale formatting, roles and masking (pure), and the user commands of the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tenure.domain.masking import mask_id_number, mask_msisdn
from tenure.domain.roles import Permission, Role, allows, permissions_of, portfolio_scope
from tenure.interfaces.web import i18n

WEB = Path(i18n.__file__).parent
MSGID = re.compile(r'''_\(\s*"((?:[^"\\]|\\.)*)"\s*\)|_\(\s*'((?:[^'\\]|\\.)*)'\s*\)''')


def _template_messages() -> set[str]:
    found: set[str] = set()
    for path in list((WEB / "templates").rglob("*.html")) + list(WEB.glob("*.py")):
        for m in MSGID.finditer(path.read_text(encoding="utf-8")):
            found.add(m.group(1) or m.group(2))
    return found | set(i18n.VALUE_LABELS)


def test_every_label_has_a_chinese_translation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from babel.messages.pofile import read_po

    po = WEB / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(_template_messages() - translated)
    assert not missing, f"labels without a zh_CN translation: {missing}"


def test_catalogue_is_compiled_again_when_the_po_is_newer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import shutil

    target = tmp_path / "zh_CN" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(WEB / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po", target / "messages.po")
    assert i18n.compile_catalogues(tmp_path) == [target / "messages.mo"]
    assert i18n.compile_catalogues(tmp_path) == []
    os.utime(target / "messages.po", ns=((target / "messages.mo").stat().st_mtime_ns + 10**9,) * 2)
    assert i18n.compile_catalogues(tmp_path) == [target / "messages.mo"]


def test_numbers_and_dates_follow_the_locale() -> None:
    zh, en = i18n.Formatter("zh_CN"), i18n.Formatter("en")
    assert zh.gettext("Dashboard") == "首页概览" and en.gettext("Dashboard") == "Dashboard"
    assert zh.date("2026-03-05") == "2026年3月5日" and en.date("2026-03-05") == "Mar 5, 2026"
    assert zh.number(1234567) == en.number(1234567) == "1,234,567"
    assert zh.percent(0.1234) == "12.3%"


# -- roles and masking (pure) ---------------------------------------------------------------
def test_only_administrators_see_pii_by_default() -> None:
    assert [r for r in Role if allows(r, Permission.SEE_PII)] == [Role.ADMINISTRATOR]
    assert Permission.SEE_PII in permissions_of(Role.ANALYST, pii_roles=["analyst"])


def test_scopes() -> None:
    assert portfolio_scope(Role.ACCOUNT_MANAGER) == "customers"
    assert portfolio_scope(Role.CHANNEL_OWNER) == "regions"
    assert portfolio_scope(Role.ANALYST) == "all"


@settings(max_examples=50, deadline=None)
@given(st.from_regex(r"1[3-9]\d{9}", fullmatch=True))
def test_masked_phone_keeps_only_prefix_and_suffix(number: str) -> None:
    masked = mask_msisdn(number)
    assert masked is not None and len(masked) == 11
    assert masked[:3] == number[:3] and masked[-4:] == number[-4:] and masked[3:7] == "****"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="0123456789X", min_size=0, max_size=20))
def test_masked_id_never_shows_the_middle(value: str) -> None:
    masked = mask_id_number(value)
    assert masked is not None and len(masked) == len(value)
    middle = masked[3:-4] if len(value) >= 8 else masked
    assert set(middle) <= {"*"}


# -- command line -------------------------------------------------------------------------------
@pytest.fixture
def cli(tenure_home):  # type: ignore[no-untyped-def]
    from tenure.interfaces.cli.main import app

    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_user_add_list_and_assign_from_the_command_line(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    password = tmp_path / "pw"
    password.write_text("first-admin-pass\n")
    r = cli("user", "add", "first_admin", "--role", "administrator", "--password-file", str(password), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["role"] == "administrator"
    assert cli("user", "add", "am_cli", "--role", "account_manager", "--no-password").exit_code == 0
    r = cli("assign", "am_cli", "--customer", "C1", "--customer", "C2", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["customers"] == ["C1", "C2"]
    listed = json.loads(cli("user", "list", "--json").output)
    assert {u["name"] for u in listed} == {"first_admin", "am_cli"}
    r = cli("user", "add", "first_admin", "--role", "viewer", "--no-password")
    assert r.exit_code == 9  # Conflict
    r = cli("user", "add", "bad_role", "--role", "superuser", "--no-password")
    assert r.exit_code == 2  # InputError


def test_first_administrator_can_sign_in(cli, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build

    password = tmp_path / "pw"
    password.write_text("first-admin-pass")
    assert cli("user", "add", "boss", "--role", "administrator", "--password-file", str(password)).exit_code == 0
    services = build(settings)
    try:
        assert services.auth.sign_in("boss", "first-admin-pass").role == "administrator"
    finally:
        services.close()
