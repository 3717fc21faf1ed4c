"""Access tokens (RS256 JWTs) and opaque refresh tokens.

PyJWT pulls in `cryptography`, so it is imported on the first token, not at cold start.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from shop.coltypes import utcnow
from shop.errors import AuthenticationFailed
from shop.settings import get_settings
from shop.signing_keys import get_key_pair

ALGORITHM = "RS256"


@dataclass(frozen=True)
class Principal:
    """Who is calling: first as the verified access token says, then as the database does.

    `epoch` is the account's token epoch when the token was signed; `shop.http.deps` refuses
    the token once the account's epoch has moved on (role, active flag or password changed).
    """

    user_id: int
    role: str
    epoch: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@lru_cache(maxsize=1)
def _signing_key() -> Any:
    from cryptography.hazmat.primitives import serialization

    pair = get_key_pair()
    if pair.private_pem is None:
        raise RuntimeError("this function has no private key: it can verify tokens, not sign")
    return serialization.load_pem_private_key(pair.private_pem.encode(), password=None)


@lru_cache(maxsize=1)
def _verifying_key() -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(get_key_pair().public_pem.encode())


def issue_access_token(user_id: int, role: str, epoch: int = 0) -> tuple[str, int]:
    """A signed access token for the user (at its token epoch) and its lifetime in seconds."""
    import jwt

    settings = get_settings()
    now = utcnow()
    ttl = settings.access_token_ttl_seconds
    claims = {
        "sub": str(user_id),
        "role": role,
        "epoch": epoch,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(
        claims, _signing_key(), algorithm=ALGORITHM, headers={"kid": get_key_pair().kid}
    )
    return token, ttl


def verify_access_token(token: str) -> Principal:
    """The principal of a valid token; AuthenticationFailed for anything else."""
    import jwt

    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            _verifying_key(),
            algorithms=[ALGORITHM],  # pinned: "none" and HS256-with-the-public-key are refused
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iss", "aud", "sub", "iat", "jti", "epoch"]},
        )
        role = claims.get("role")
        if role not in ("customer", "admin"):
            raise AuthenticationFailed("token has no valid role")
        epoch = claims["epoch"]
        if type(epoch) is not int:
            raise AuthenticationFailed("token has no valid epoch")
        return Principal(user_id=int(claims["sub"]), role=role, epoch=epoch)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise AuthenticationFailed("invalid or expired access token") from exc


def public_jwks() -> dict[str, Any]:
    """The JSON Web Key Set other services use to verify shopfn's access tokens."""
    import json

    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(_verifying_key()))
    jwk.update({"kid": get_key_pair().kid, "alg": ALGORITHM, "use": "sig"})
    return {"keys": [jwk]}


def new_refresh_token() -> tuple[str, str, str]:
    """A fresh opaque refresh token, its SHA-256 for storage, and a new family id."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token), str(uuid.uuid4())


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
