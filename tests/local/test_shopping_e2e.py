"""The shopping flow end to end, over HTTP, through `shopfn serve` started as a subprocess."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from servers import ServeProcess, running_serve, serve_environment

ADMIN = {"email": "e2e-admin@example.com", "password": "e2e admin password"}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def commerce(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Commerce API of a fresh `shopfn serve` (SQLite in a temporary folder)."""
    data_dir = tmp_path_factory.mktemp("e2e")
    env = serve_environment(data_dir, ADMIN_EMAIL=ADMIN["email"], ADMIN_PASSWORD=ADMIN["password"])
    with running_serve(ServeProcess(data_dir, env), health="/orders/health") as served:
        yield served.commerce


def _sign_in(api: httpx.Client, email: str, password: str) -> dict[str, str]:
    reply = api.post("/users/login", json={"email": email, "password": password})
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def test_a_shopper_registers_buys_sees_the_order_and_cancels_it(commerce: str) -> None:
    with httpx.Client(base_url=commerce, timeout=30) as api:
        email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
        registered = api.post(
            "/users/register",
            json={"email": email, "password": "shopping spree 1", "full_name": "Eve Shopper"},
        )
        assert registered.status_code == 201, registered.text
        me = _sign_in(api, email, "shopping spree 1")

        catalog = api.get("/products", params={"in_stock": "true", "page_size": 5}).json()
        assert catalog["total"] >= 18  # the seeded catalog
        first, second = catalog["items"][0], catalog["items"][1]
        assert api.get(f"/products/{first['id']}", headers=me).status_code == 200

        assert (
            api.post(
                "/cart/items", json={"product_id": first["id"], "quantity": 2}, headers=me
            ).status_code
            == 201
        )
        cart = api.post(
            "/cart/items", json={"product_id": second["id"], "quantity": 1}, headers=me
        ).json()
        assert cart["item_count"] == 3 and cart["can_checkout"] is True

        address = {
            "name": "Eve Shopper",
            "line1": "1 Main Street",
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        }
        key = {"Idempotency-Key": uuid.uuid4().hex}
        placed = api.post("/orders", json={"shipping_address": address}, headers=me | key)
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert placed.headers["location"] == f"/orders/{order['id']}"
        assert order["subtotal"] == cart["subtotal"]
        retried = api.post("/orders", json={"shipping_address": address}, headers=me | key)
        assert (retried.status_code, retried.json()["id"]) == (200, order["id"])

        assert api.get("/cart", headers=me).json()["items"] == []
        stock_after_order = api.get(f"/products/{first['id']}").json()["stock"]
        assert stock_after_order == first["stock"] - 2

        listed = api.get("/orders", headers=me).json()
        assert [o["id"] for o in listed["items"]] == [order["id"]]
        shown = api.get(f"/orders/{order['id']}", headers=me).json()
        assert [h["status"] for h in shown["status_history"]] == ["awaiting_payment"]

        cancelled = api.post(f"/orders/{order['id']}/cancel", headers=me)
        assert cancelled.status_code == 200
        assert [h["status"] for h in cancelled.json()["status_history"]] == [
            "awaiting_payment",
            "cancelled",
        ]
        assert api.get(f"/products/{first['id']}").json()["stock"] == first["stock"]
        assert api.get(f"/products/{second['id']}").json()["stock"] == second["stock"]

        admin = _sign_in(api, ADMIN["email"], ADMIN["password"])
        stats = api.get("/orders/stats", params={"days": 1}, headers=admin).json()
        assert stats["by_status"]["cancelled"] >= 1
