"""Test helpers: call the real Lambda handlers with API Gateway events, and small factories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shopfn.apigw import ProxyResponse, build_event
from shopfn.gateway import invoke
from shopfn.manifest import API_NAMES, FunctionSpec, load_manifest

#: Servers every test run needs (CI has them too); TEST_PG_URL / TEST_MARIADB_URL override.
PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

#: The instant every simulated history in the tests ends at, so no data or verdict depends on
#: the day the tests run.
FIXED_NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@dataclass
class Reply:
    """What a client sees: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def is_problem(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/problem+json")


def route(path: str) -> FunctionSpec:
    """The function that serves `path` on whichever API owns it."""
    manifest = load_manifest()
    for api in API_NAMES:
        spec = manifest.route(api, path)
        if spec is not None:
            return spec
    raise LookupError(f"no function serves {path}")


@dataclass
class LambdaClient:
    """Sends requests as API Gateway events straight into the functions' handlers."""

    default_headers: dict[str, str] = field(default_factory=dict)
    source_ip: str = "127.0.0.1"  # the caller's address, as API Gateway reports it

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        source_ip: str | None = None,
    ) -> Reply:
        all_headers = {**self.default_headers, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("content-type", "application/json")
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        if body is not None:
            all_headers.setdefault("content-length", str(len(body)))
        spec = route(path)
        event = build_event(
            spec,
            method,
            path,
            headers=list(all_headers.items()),
            query_string=urlencode(params or {}, doseq=True),
            body=body,
            source_ip=source_ip or self.source_ip,
        )
        result = ProxyResponse.from_lambda(invoke(spec, event))
        return Reply(
            status=result.status,
            headers={name.lower(): value for name, value in result.headers},
            body=result.body,
        )

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, json_body=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, json_body=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Account:
    id: int
    email: str
    password: str
    access_token: str
    refresh_token: str


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def sign_up(
    client: LambdaClient,
    *,
    email: str | None = None,
    password: str = "correct horse 1",
    full_name: str = "Test Shopper",
) -> Account:
    """Register and sign in a customer through the API."""
    email = email or unique_email()
    created = client.post(
        "/users/register", json={"email": email, "password": password, "full_name": full_name}
    )
    assert created.status == 201, created.body
    tokens = client.post("/users/login", json={"email": email, "password": password})
    assert tokens.status == 200, tokens.body
    return Account(
        id=created.json()["id"],
        email=email,
        password=password,
        access_token=tokens.json()["access_token"],
        refresh_token=tokens.json()["refresh_token"],
    )


def make_admin(
    client: LambdaClient, *, email: str | None = None, password: str = "admin password 1"
) -> Account:
    """Create an admin the way `shopfn create-admin` does, then sign in through the API."""
    from shop.db import session_scope
    from shop.services.accounts import ensure_admin

    email = email or unique_email("admin")
    with session_scope() as session:
        user = ensure_admin(session, email=email, password=password)
        user_id = user.id
    tokens = client.post("/users/login", json={"email": email, "password": password})
    assert tokens.status == 200, tokens.body
    return Account(
        id=user_id,
        email=email,
        password=password,
        access_token=tokens.json()["access_token"],
        refresh_token=tokens.json()["refresh_token"],
    )


def run_python_script(script: str, *args: str, env: dict[str, str], timeout: int = 180) -> Any:
    """Run `script` in a fresh interpreter and return the JSON of its last printed line."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
