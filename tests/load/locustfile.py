"""Locust scenario: shoppers browse, search, fill carts, check out and look at their orders,
while a few admins move orders along and watch the sales figures.

Run it with `make load` (tests/load/run_load.py starts `shopfn serve` on PostgreSQL, runs
this file headless and checks the database afterwards). Expected answers that are not
errors: 409 when a product sells out (add to cart, checkout) or an order already moved.
Anything 5xx is a failure. Every order answered 201 is written to $LOAD_RESULTS so the
runner can check it is in the database with its stock taken.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from typing import Any

from locust import HttpUser, between, events, task

SEARCH_TERMS = ("lamp", "mug", "head", "yoga", "coffee", "book", "steel", "kids", "smart")
ADDRESS = {
    "name": "Load Shopper",
    "line1": "1 Benchmark Road",
    "city": "Loadtown",
    "postal_code": "LT1 1AA",
    "country": "GB",
}

_lock = threading.Lock()
_results: dict[str, Any] = {"orders": [], "server_errors": 0, "replays": 0}


@events.request.add_listener
def _count_server_errors(response: Any = None, **_kwargs: Any) -> None:
    if response is not None and getattr(response, "status_code", 0) >= 500:
        with _lock:
            _results["server_errors"] += 1


@events.test_stop.add_listener
def _write_results(**_kwargs: Any) -> None:
    path = os.environ.get("LOAD_RESULTS")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(_results, handle)


def _expect(response: Any, *allowed: int) -> None:
    """Mark a response a success when its status is one the scenario expects."""
    if response.status_code in allowed:
        response.success()
    else:
        response.failure(f"HTTP {response.status_code}: {response.text[:200]}")


class Shopper(HttpUser):
    weight = 12
    wait_time = between(0.3, 1.5)

    def on_start(self) -> None:
        email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        password = "load test password"
        self.client.post(
            "/users/register",
            json={"email": email, "password": password, "full_name": "Load Shopper"},
            name="/users/register",
        )
        reply = self.client.post(
            "/users/login", json={"email": email, "password": password}, name="/users/login"
        )
        self.auth = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        self.product_ids: list[int] = []
        self.order_ids: list[int] = []

    def _known_product(self) -> int | None:
        return random.choice(self.product_ids) if self.product_ids else None

    @task(6)
    def browse(self) -> None:
        reply = self.client.get(
            "/products",
            params={"page": random.randint(1, 2), "page_size": 10, "sort": "price"},
            name="/products",
        )
        if reply.ok:
            self.product_ids = [p["id"] for p in reply.json()["items"]] or self.product_ids

    @task(3)
    def search(self) -> None:
        self.client.get(
            "/products",
            params={"q": random.choice(SEARCH_TERMS)},
            headers=self.auth,
            name="/products?q=",
        )

    @task(4)
    def view_product(self) -> None:
        product = self._known_product()
        if product is not None:
            self.client.get(f"/products/{product}", headers=self.auth, name="/products/{id}")

    @task(5)
    def add_to_cart(self) -> None:
        product = self._known_product()
        if product is None:
            return
        with self.client.post(
            "/cart/items",
            json={"product_id": product, "quantity": random.randint(1, 2)},
            headers=self.auth,
            name="/cart/items",
            catch_response=True,
        ) as reply:
            _expect(reply, 201, 409)  # 409: sold out, or the line is full

    @task(2)
    def view_cart(self) -> None:
        self.client.get("/cart", headers=self.auth, name="/cart")

    @task(3)
    def checkout(self) -> None:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        with self.client.post(
            "/orders",
            json={"shipping_address": ADDRESS},
            headers=self.auth | key,
            name="/orders [checkout]",
            catch_response=True,
        ) as reply:
            _expect(reply, 201, 409)  # 409: empty cart or sold out
            created = reply.status_code == 201
        if created:
            order = reply.json()
            self.order_ids.append(order["id"])
            with _lock:
                _results["orders"].append(order["id"])
            if random.random() < 0.8:  # most shoppers pay (test mode: Stripe's test card)
                with self.client.post(
                    f"/payments/orders/{order['id']}/test-card",
                    json={"card_number": "4242 4242 4242 4242"},
                    headers=self.auth,
                    name="/payments/orders/{id}/test-card",
                    catch_response=True,
                ) as paid:
                    _expect(paid, 200)
            if random.random() < 0.2:  # a client that retries: must get the same order back
                with self.client.post(
                    "/orders",
                    json={"shipping_address": ADDRESS},
                    headers=self.auth | key,
                    name="/orders [retry]",
                    catch_response=True,
                ) as again:
                    if again.status_code == 200 and again.json()["id"] == order["id"]:
                        again.success()
                        with _lock:
                            _results["replays"] += 1
                    else:
                        again.failure(f"retry gave HTTP {again.status_code}")
        elif reply.status_code == 409:
            self.client.delete("/cart", headers=self.auth, name="/cart [clear]")

    @task(2)
    def view_orders(self) -> None:
        self.client.get("/orders", headers=self.auth, name="/orders")
        if self.order_ids:
            self.client.get(
                f"/orders/{random.choice(self.order_ids)}", headers=self.auth, name="/orders/{id}"
            )

    @task(1)
    def cancel_an_order(self) -> None:
        if not self.order_ids or random.random() > 0.3:
            return
        with self.client.post(
            f"/orders/{self.order_ids.pop(0)}/cancel",
            headers=self.auth,
            name="/orders/{id}/cancel",
            catch_response=True,
        ) as reply:
            _expect(reply, 200, 409)  # 409: an admin shipped it first


class Admin(HttpUser):
    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        reply = self.client.post(
            "/users/login",
            json={
                "email": os.environ["LOAD_ADMIN_EMAIL"],
                "password": os.environ["LOAD_ADMIN_PASSWORD"],
            },
            name="/users/login [admin]",
        )
        self.auth = {"Authorization": f"Bearer {reply.json()['access_token']}"}

    @task(3)
    def list_all_orders(self) -> None:
        self.client.get(
            "/orders",
            params={"all": "true", "status": "awaiting_payment"},
            headers=self.auth,
            name="/orders?all=true",
        )

    @task(2)
    def stats(self) -> None:
        self.client.get(
            "/orders/stats", params={"days": 7}, headers=self.auth, name="/orders/stats"
        )

    @task(3)
    def advance_an_order(self) -> None:
        pending = self.client.get(
            "/orders",
            params={"all": "true", "status": random.choice(["paid", "shipped"]), "page_size": 5},
            headers=self.auth,
            name="/orders?all=true",
        )
        if not pending.ok or not pending.json()["items"]:
            return
        order = random.choice(pending.json()["items"])
        target = {"paid": "shipped", "shipped": "delivered"}[order["status"]]
        with self.client.patch(
            f"/orders/{order['id']}/status",
            json={"status": target},
            headers=self.auth,
            name="/orders/{id}/status",
            catch_response=True,
        ) as reply:
            _expect(reply, 200, 409)  # 409: the customer cancelled it meanwhile
