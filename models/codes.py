"""Shapes of the identifiers users choose (SPEC sections 3 and 4)."""

from __future__ import annotations

import re

CODE_PATTERN = r"^([a-zA-Z0-9-_]+)$"
CODE_MAX = 32
CAUSE_CODE_PATTERN = r"^[a-zA-Z0-9._-]+$"
CAUSE_CODE_MAX = 50
ACCOUNT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$"

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int = CODE_MAX) -> str:
    """Lower-case letters and digits joined by single dashes ('Acme Ltd.' → 'acme-ltd')."""
    slug = _NON_SLUG.sub("-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-")
