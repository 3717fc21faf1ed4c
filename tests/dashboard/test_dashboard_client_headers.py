"""The dashboard's client forwards the browser's address with the proxy secret on every call."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shopui.client import ShopClient

SECRET = "proxy-secret-for-tests-only"


def recording_client(
    seen: list[httpx.Request], state: dict[str, Any], **forwarding: str | None
) -> ShopClient:
    """A client whose HTTP calls are answered by a fake: 401 for the old token, else 200."""

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") == "Bearer old":
            return httpx.Response(401, json={"title": "Unauthorized"})
        if request.url.path == "/users/refresh":
            return httpx.Response(200, json={"access_token": "new", "refresh_token": "r2"})
        return httpx.Response(200, json={"ok": True})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return ShopClient("http://commerce", "http://ml", state, http=http, **forwarding)


def test_every_call_forwards_the_browser_address_and_the_secret() -> None:
    seen: list[httpx.Request] = []
    state = {"access_token": "old", "refresh_token": "r1"}
    api = recording_client(seen, state, client_address="203.0.113.5", proxy_secret=SECRET)

    api.place_order({"line1": "1 Main St"}, idempotency_key="key-1")  # 401, refresh, retry
    api.models()

    assert [request.url.path for request in seen] == [
        "/orders",
        "/users/refresh",
        "/orders",
        "/ml/models",
    ]
    for request in seen:
        assert request.headers["x-shopfn-client-address"] == "203.0.113.5"
        assert request.headers["x-shopfn-proxy-secret"] == SECRET
    assert seen[2].headers["idempotency-key"] == "key-1"
    assert seen[2].headers["authorization"] == "Bearer new"


@pytest.mark.parametrize(
    "forwarding",
    [
        {},
        {"client_address": "203.0.113.5"},  # no secret configured: nothing to prove it with
        {"client_address": None, "proxy_secret": SECRET},  # Streamlit hides a local browser
    ],
)
def test_nothing_is_forwarded_without_both_address_and_secret(forwarding: dict) -> None:
    seen: list[httpx.Request] = []
    recording_client(seen, {}, **forwarding).products(q="mug")

    assert len(seen) == 1
    assert "x-shopfn-client-address" not in seen[0].headers
    assert "x-shopfn-proxy-secret" not in seen[0].headers
