"""Role x route matrix: every route of every function in the manifest, as every kind of caller.

Routes are discovered from the manifest and each function's FastAPI app, so a function added
later is covered without touching this file. What a route *should* require comes from two
places: its auth dependencies (`require_admin`, `require_principal`, `require_account`) and the
"Who" line of its section in the HTTP contract (docs/api.md, which tests/docs/test_api_doc.py
keeps complete). The stricter of the two is what the route is probed for, so a contract route
that loses its guard fails here twice: its dependencies no longer match the contract, and
anonymous callers or customers get through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from api_doc import contract_key, read_api_doc
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from support import LambdaClient, Reply, make_admin, sign_up

from shop.http.deps import AdminUser, require_account, require_admin, require_principal
from shopfn.loader import api_routes, load_routes
from shopfn.manifest import load_manifest

PUBLIC, SIGNED_IN, ADMIN = "anyone", "signed-in", "admin"
_STRICTNESS = {PUBLIC: 0, SIGNED_IN: 1, ADMIN: 2}

#: The "Who" line of docs/api.md for every route (path parameters written `{}`).
CONTRACT: dict[tuple[str, str], str] = {
    contract_key(method, path): route.who or PUBLIC
    for (method, path), route in read_api_doc(
        [spec.prefix for spec in load_manifest().functions]
    ).items()
}
_PATH_PARAM = re.compile(r"\{[^}]*\}")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _walk(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every dependency callable below `dependant`, however deeply nested."""
    calls: set[Callable[..., Any]] = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            calls.add(sub.call)
        calls |= _walk(sub)
    return calls


def guard_of(route: Any) -> str:
    """What the route's dependencies demand of the caller."""
    calls = _walk(route.dependant)
    if require_admin in calls:
        return ADMIN
    if require_principal in calls or require_account in calls:
        return SIGNED_IN
    return PUBLIC


@dataclass(frozen=True)
class Endpoint:
    """One method on one route of one function."""

    function: str
    method: str
    path: str
    guard: str

    @property
    def contract_key(self) -> tuple[str, str]:
        return contract_key(self.method, self.path)

    @property
    def expected(self) -> str:
        """The stricter of what the contract and the route's own dependencies demand."""
        promised = CONTRACT.get(self.contract_key, PUBLIC)
        return max(promised, self.guard, key=_STRICTNESS.__getitem__)

    @property
    def url(self) -> str:
        """The path with every parameter filled by a plausible id."""
        return _PATH_PARAM.sub("1", self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _endpoints_of(function: str, routes: list[Any]) -> list[Endpoint]:
    return [
        Endpoint(function, method, route.path, guard_of(route))
        for route in routes
        for method in sorted(route.methods - {"HEAD", "OPTIONS"})
    ]


def all_endpoints() -> list[Endpoint]:
    """Every endpoint of every function in the manifest."""
    return [
        endpoint
        for spec in load_manifest().functions
        for endpoint in _endpoints_of(spec.name, load_routes(spec))
    ]


ENDPOINTS = all_endpoints()
Send = Callable[[Endpoint, "str | None"], Reply]


def send_with(client: LambdaClient) -> Send:
    """Call an endpoint with a minimal request: ids of 1, `{}` as the body where one is sent."""

    def send(endpoint: Endpoint, token: str | None) -> Reply:
        body = {} if endpoint.method in _BODY_METHODS else None
        return client.request(endpoint.method, endpoint.url, json_body=body, token=token)

    return send


def _is_bearer_challenge(reply: Reply) -> bool:
    return reply.headers.get("www-authenticate", "").lower().startswith("bearer")


def access_violations(endpoint: Endpoint, send: Send, customer_token: str) -> list[str]:
    """How the live endpoint breaks what it should require (empty when it holds)."""
    found: list[str] = []
    if endpoint.guard != endpoint.expected:
        found.append(
            f"its dependencies demand {endpoint.guard!r}, the contract {endpoint.expected!r}"
        )
    anonymous = send(endpoint, None)
    if endpoint.expected == PUBLIC:
        if anonymous.status in (401, 403):
            found.append(f"a public route refused an anonymous caller with {anonymous.status}")
        return found
    if anonymous.status != 401 or not _is_bearer_challenge(anonymous) or not anonymous.is_problem:
        found.append(f"anonymous caller got {anonymous.status} {anonymous.headers}")
    if endpoint.expected == ADMIN:
        customer = send(endpoint, customer_token)
        if customer.status != 403 or not customer.is_problem:
            found.append(f"customer got {customer.status}, not a 403 problem")
    return found


# The guards run before any query: one backend proves them, the others add only time.
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def customer_token(client: LambdaClient) -> str:
    return sign_up(client).access_token


def test_the_manifest_gives_the_matrix_routes_of_every_kind(database: str) -> None:
    kinds = {endpoint.expected for endpoint in ENDPOINTS}
    assert kinds == {PUBLIC, SIGNED_IN, ADMIN}
    assert {endpoint.function for endpoint in ENDPOINTS} == {
        spec.name for spec in load_manifest().functions
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_every_route_demands_what_the_contract_says(
    endpoint: Endpoint, client: LambdaClient, customer_token: str
) -> None:
    assert access_violations(endpoint, send_with(client), customer_token) == []


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.expected != PUBLIC], ids=str)
def test_anonymous_callers_get_401_with_a_bearer_challenge(
    endpoint: Endpoint, client: LambdaClient
) -> None:
    reply = send_with(client)(endpoint, None)
    assert reply.status == 401, reply.body
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.is_problem and reply.json()["status"] == 401


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.expected == ADMIN], ids=str)
def test_customers_get_403_on_admin_routes(
    endpoint: Endpoint, client: LambdaClient, customer_token: str
) -> None:
    reply = send_with(client)(endpoint, customer_token)
    assert reply.status == 403, reply.body
    assert reply.is_problem and reply.json()["status"] == 403


def test_admins_get_past_every_guard(client: LambdaClient) -> None:
    admin = make_admin(client)
    send = send_with(client)
    refused = {
        str(endpoint): reply.status
        for endpoint in ENDPOINTS
        if (reply := send(endpoint, admin.access_token)).status in (401, 403)
    }
    assert refused == {}


def test_the_matrix_catches_an_admin_route_that_lost_its_guard(
    client: LambdaClient, customer_token: str
) -> None:
    """A copy of `GET /users` and `PATCH /users/{id}` without their admin dependency."""
    from shop.http.app import create_app
    from shop.http.handler import make_handler
    from shopfn.apigw import ProxyResponse, build_event
    from shopfn.gateway import invoke_handler
    from shopfn.manifest import FunctionSpec

    router = APIRouter()

    @router.get("")
    def list_users() -> list[int]:
        return []

    @router.patch("/{user_id}")
    def update_user(user_id: int, _admin: AdminUser) -> dict[str, int]:
        return {"id": user_id}

    app = create_app("guardless", "/users", [router])
    handler = make_handler(app, "guardless")
    spec = FunctionSpec("guardless", "commerce", "/users", "guardless.handler.handler", 128, 5, "")

    def send(endpoint: Endpoint, token: str | None) -> Reply:
        headers = [("authorization", f"Bearer {token}")] if token else []
        event = build_event(spec, endpoint.method, endpoint.url, headers=headers)
        result = ProxyResponse.from_lambda(invoke_handler(spec, handler, event))
        return Reply(result.status, {k.lower(): v for k, v in result.headers}, result.body)

    by_name = {str(e): e for e in _endpoints_of("guardless", api_routes(app))}
    lost = by_name["GET /users"]
    assert lost.guard == PUBLIC and lost.expected == ADMIN
    assert access_violations(lost, send, customer_token) != []
    # The same probe passes a route that kept its guard: the check is not merely strict.
    assert access_violations(by_name["PATCH /users/{user_id}"], send, customer_token) == []
