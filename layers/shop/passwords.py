"""Password hashing with bcrypt; bcrypt is imported on first use to keep cold starts short."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from shop.settings import get_settings


def _prehash(password: str) -> bytes:
    # bcrypt reads only 72 bytes; a SHA-256 pre-hash (base64, 44 bytes) lets every byte count.
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


def hash_password(password: str, rounds: int | None = None) -> str:
    """A salted bcrypt hash of `password`, safe to store (at the configured cost by default)."""
    import bcrypt

    cost = get_settings().bcrypt_rounds if rounds is None else rounds
    return bcrypt.hashpw(_prehash(password), bcrypt.gensalt(cost)).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True when `password` matches `password_hash` (constant time inside bcrypt)."""
    import bcrypt

    try:
        return bcrypt.checkpw(_prehash(password), password_hash.encode("ascii"))
    except ValueError:  # a malformed stored hash never matches
        return False


@lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    # Keyed by cost: a dummy made at another cost than real hashes would make unknown
    # e-mails measurably faster (or slower) than wrong passwords.
    return hash_password("timing-equaliser-not-a-real-password", rounds)


def burn_verification_time(password: str) -> None:
    """Spend one bcrypt verification, so an unknown e-mail takes as long as a wrong password."""
    verify_password(password, _dummy_hash(get_settings().bcrypt_rounds))
