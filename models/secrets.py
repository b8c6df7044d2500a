"""Credential material: generation and hashing (pure)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_KEY_PREFIX = "andon_"
# Crockford-like alphabet without 0/O, 1/I/L: codes are read off a screen and typed on tablets.
ACCESS_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
ACCESS_CODE_LENGTH = 10  # 30 symbols ** 10 ≈ 2**49, above the 40 bits required


def digest(secret: str) -> str:
    """SHA-256 hex of a secret. Keys carry 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii"), b.encode("ascii"))


def new_api_key() -> tuple[str, str, str]:
    """(secret shown once, its digest to store, a short prefix to tell keys apart)."""
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return secret, digest(secret), secret[: len(API_KEY_PREFIX) + 6]


def new_access_code() -> str:
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(ACCESS_CODE_LENGTH))


def normalise_access_code(code: str) -> str:
    """Codes are typed by hand: ignore case, spaces and dashes."""
    return code.strip().upper().replace("-", "").replace(" ", "")
