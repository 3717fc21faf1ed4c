"""The shopping flow end to end, over HTTP, through `shopfn serve` started as a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"email": "e2e-admin@example.com", "password": "e2e admin password"}

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def commerce(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Commerce API of a fresh `shopfn serve` (SQLite in a temporary folder)."""
    data_dir = tmp_path_factory.mktemp("e2e")
    port, ml_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "test",
        "BCRYPT_ROUNDS": "4",
        "ADMIN_EMAIL": ADMIN["email"],
        "ADMIN_PASSWORD": ADMIN["password"],
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "shopfn.cli", "serve", "--no-dashboard"]
    command += ["--commerce-port", str(port), "--ml-port", str(ml_port)]
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/orders/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "shopfn serve did not come up"
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


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
        assert [h["status"] for h in shown["status_history"]] == ["pending"]

        cancelled = api.post(f"/orders/{order['id']}/cancel", headers=me)
        assert cancelled.status_code == 200
        assert [h["status"] for h in cancelled.json()["status_history"]] == [
            "pending",
            "cancelled",
        ]
        assert api.get(f"/products/{first['id']}").json()["stock"] == first["stock"]
        assert api.get(f"/products/{second['id']}").json()["stock"] == second["stock"]

        admin = _sign_in(api, ADMIN["email"], ADMIN["password"])
        stats = api.get("/orders/stats", params={"days": 1}, headers=admin).json()
        assert stats["by_status"]["cancelled"] >= 1
