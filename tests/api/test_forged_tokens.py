"""Forged, broken and misused bearer tokens never get in: 401 problem+json with a challenge.

Each forgery is probed on a signed-in route (`GET /users/me`), an admin route (`GET /users`,
`POST /products`) and a public route that reads an optional token (`GET /products`): a bad
token is refused even where no token would have been fine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support import LambdaClient, make_admin, sign_up

from shop.settings import get_settings
from shop.signing_keys import get_key_pair

PROBED_ROUTES = [
    ("GET", "/users/me"),
    ("GET", "/users"),
    ("POST", "/products"),
    ("GET", "/products"),
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


#: The subject of the forged claims: a real admin of the test's database (see `real_admin`).
_ADMIN = {"sub": "1"}


def _claims(**overrides: Any) -> dict[str, Any]:
    """Admin claims that would pass if signed properly; `None` removes a claim."""
    settings = get_settings()
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "sub": _ADMIN["sub"],
        "role": "admin",
        "epoch": 0,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + 600,
        "jti": "forged",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _rs256(claims: dict[str, Any], private_pem: str | None = None) -> str:
    import jwt

    key = private_pem or get_key_pair().private_pem
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": get_key_pair().kid})


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def _hs256_with_public_key(claims: dict[str, Any]) -> str:
    """The classic key-confusion attack: HMAC keyed with the server's own public key."""
    signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(claims)}"
    secret = get_key_pair().public_pem.encode()
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _other_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _promoted(customer_token: str) -> str:
    """A real customer token whose payload was edited to say admin (signature kept)."""
    header, payload, signature = customer_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    return f"{header}.{_segment(claims)}.{signature}"


def _expired() -> str:
    past = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    return _rs256(_claims(iat=past - 900, exp=past))


#: name -> the Authorization header value, given a real customer access token.
FORGERIES: dict[str, Callable[[str], str]] = {
    "alg none": lambda _: f"Bearer {_unsigned(_claims())}",
    "alg none with the real signature": lambda t: f"Bearer {_unsigned(_claims())}{t.split('.')[2]}",
    "HS256 signed with the public key": lambda _: f"Bearer {_hs256_with_public_key(_claims())}",
    "expired": lambda _: f"Bearer {_expired()}",
    "wrong issuer": lambda _: f"Bearer {_rs256(_claims(iss='https://evil.example'))}",
    "wrong audience": lambda _: f"Bearer {_rs256(_claims(aud='another-api'))}",
    "no exp": lambda _: f"Bearer {_rs256(_claims(exp=None))}",
    "no aud": lambda _: f"Bearer {_rs256(_claims(aud=None))}",
    "no iss": lambda _: f"Bearer {_rs256(_claims(iss=None))}",
    "not a role": lambda _: f"Bearer {_rs256(_claims(role='superuser'))}",
    "subject not an id": lambda _: f"Bearer {_rs256(_claims(sub='root'))}",
    "no epoch": lambda _: f"Bearer {_rs256(_claims(epoch=None))}",
    "epoch not a number": lambda _: f"Bearer {_rs256(_claims(epoch='0'))}",
    "epoch from another time": lambda _: f"Bearer {_rs256(_claims(epoch=1))}",
    "signed by another RSA key": lambda _: f"Bearer {_rs256(_claims(), _other_key_pem())}",
    "payload tampered to admin": lambda t: f"Bearer {_promoted(t)}",
    "garbage": lambda _: "Bearer this-is-not-a-jwt",
    "garbage with dots": lambda _: "Bearer a.b.c",
    "unicode garbage": lambda _: "Bearer \u00e9\u00e8.\u00e0.\u00fc",
    "empty bearer": lambda _: "Bearer ",
    "bare scheme": lambda _: "Bearer",
    "wrong scheme": lambda t: f"Basic {t}",
    "token without scheme": lambda t: t,
}


@pytest.fixture(autouse=True)
def real_admin(client: LambdaClient) -> None:
    """The forged claims name a live admin, so only the forgery itself can fail them."""
    _ADMIN["sub"] = str(make_admin(client).id)


@pytest.fixture
def customer_token(client: LambdaClient) -> str:
    return sign_up(client).access_token


@pytest.mark.parametrize("forgery", FORGERIES, ids=str)
def test_forged_tokens_get_401_with_a_bearer_challenge(
    forgery: str, client: LambdaClient, customer_token: str
) -> None:
    authorization = FORGERIES[forgery](customer_token)
    for method, path in PROBED_ROUTES:
        body = {} if method == "POST" else None
        reply = client.request(
            method, path, json_body=body, headers={"authorization": authorization}
        )
        assert reply.status == 401, (method, path, reply.status, reply.body)
        assert reply.headers["www-authenticate"] == "Bearer"
        assert reply.is_problem
        problem = reply.json()
        assert problem["status"] == 401
        assert "Traceback" not in problem["detail"]


def test_the_real_tokens_behind_the_forgeries_are_accepted(
    client: LambdaClient, customer_token: str
) -> None:
    """The forgeries fail because they are forged, not because every token fails."""
    assert client.get("/users/me", token=customer_token).status == 200
    admin = make_admin(client)
    assert client.get("/users", token=admin.access_token).status == 200
    assert client.get("/users", token=customer_token).status == 403


def test_the_untampered_claims_signed_with_the_real_key_pass(client: LambdaClient) -> None:
    """Each forgery changes one thing about a token that would otherwise be let in."""
    reply = client.get("/users", headers={"authorization": f"Bearer {_rs256(_claims())}"})
    assert reply.status == 200, reply.body
