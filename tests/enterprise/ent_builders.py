"""Small builders with unique ids for the key-account tests."""

from __future__ import annotations

import uuid


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"
