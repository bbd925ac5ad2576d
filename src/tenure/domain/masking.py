"""Masking of phone and ID numbers for callers without the right to see them."""

from __future__ import annotations


def mask_msisdn(value: str | None) -> str | None:
    """Keep the first three and last four digits of a phone number.

    >>> mask_msisdn("13812341234")
    '138****1234'
    >>> mask_msisdn("12345")
    '*****'
    """
    return _keep_ends(value)


def mask_id_number(value: str | None) -> str | None:
    """Keep the first three and last four characters of an ID or registration number.

    >>> mask_id_number("110101199003071234")
    '110***********1234'
    """
    return _keep_ends(value)


def _keep_ends(value: str | None) -> str | None:
    """First three and last four characters kept, the rest starred; short values fully starred."""
    if value is None:
        return None
    s = str(value)
    if len(s) < 8:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 7) + s[-4:]


def mask_record(record: dict, see_pii: bool, fields: dict[str, str]) -> dict:
    """Return ``record`` with the sensitive ``fields`` (name -> "msisdn"|"id") masked unless ``see_pii``."""
    if see_pii:
        return dict(record)
    out = dict(record)
    for name, kind in fields.items():
        if name in out:
            out[name] = mask_msisdn(out[name]) if kind == "msisdn" else mask_id_number(out[name])
    return out
