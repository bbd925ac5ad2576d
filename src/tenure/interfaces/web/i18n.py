"""Message catalogues (Babel) and locale-aware formatting for the pages.

The ``.mo`` files are committed; when a ``.po`` is newer (a translator edited
it) it is compiled again at start-up, so no separate build step is needed.
"""

from __future__ import annotations

import gettext
import logging
import os
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

log = logging.getLogger(__name__)
LOCALE_DIR = Path(__file__).with_name("locale")
LOCALES = ("zh_CN", "en")
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def compile_catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every ``messages.po`` whose ``.mo`` is missing or older; returns what was compiled."""
    compiled = []
    for po in locale_dir.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        tmp = mo.with_suffix(f".mo.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as f:
                write_mo(f, catalog)
            tmp.replace(mo)
        except OSError as exc:
            # A read-only installation keeps the committed .mo.
            log.warning("could not compile %s: %s", po, exc)
            continue
        compiled.append(mo)
    translations.cache_clear()
    return compiled


@lru_cache(maxsize=8)
def translations(locale: str) -> gettext.NullTranslations:
    if locale == "en":
        return gettext.NullTranslations()
    return gettext.translation("messages", localedir=str(LOCALE_DIR), languages=[locale], fallback=True)


class Formatter:
    """Numbers, percentages and dates in one locale's format, plus gettext."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else "zh_CN"
        self.babel_locale = Locale.parse(self.locale)
        self._t = translations(self.locale)

    def gettext(self, message: str, **values: Any) -> str:
        text = self._t.gettext(message)
        return text % values if values else text

    def number(self, value: Any, digits: int = 0) -> str:
        if value is None or value == "":
            return "–"
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale=self.babel_locale)

    def money(self, value: Any) -> str:
        return "–" if value is None else "¥" + self.number(value, 2)

    def percent(self, value: Any, digits: int = 1) -> str:
        if value is None:
            return "–"
        return format_percent(value, format="#,##0." + "0" * digits + "%", locale=self.babel_locale)

    def date(self, value: Any) -> str:
        if value is None or value == "":
            return "–"
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value[:10])
            except ValueError:
                return value
        if isinstance(value, datetime):
            return format_datetime(value, format="medium", locale=self.babel_locale)
        return format_date(value, format="medium", locale=self.babel_locale)

    def datetime(self, value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return format_datetime(value, format="medium", locale=self.babel_locale)


# Values shown through ``_()`` that come from data, not from a template literal;
# listed so the catalogue (and its test) covers them.
VALUE_LABELS: tuple[str, ...] = (
    "active", "suspended", "churned",
    "administrator", "analyst", "retention_manager", "channel_owner", "account_manager", "community_manager", "viewer",
    "retention", "maintenance", "value_uplift", "prevention",
    "diamond", "gold", "silver", "none", "individual", "enterprise",
    "stage A", "stage B", "stage C", "stage D", "stage E",
    "store", "hotline", "ivr", "website", "sms", "wap", "self_service",
    "prepaid", "postpaid", "network", "billing", "service", "product", "other",
    "plan_change", "cancellation", "fault", "port_out_inquiry", "new_service", "suspension",
    "member", "key_person", "low", "medium", "high", "critical", "subscriber", "group",
    "handset_contract", "plan_contract", "group_agreement",
)
