"""Checkout, retries and cancellation under real concurrency: one thread, one connection each.

Runs on every backend; PostgreSQL and MariaDB take row locks, SQLite serializes writers.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from shopping import ADDRESS, add_to_cart, bulk_products, checkout, count_rows, stock_of
from sqlalchemy import func, select
from support import Account, LambdaClient, Reply, make_admin, sign_up

from shop.db import session_scope
from shop.models import BehaviorEvent, InventoryMovement, Order, OrderItem, OrderStatusChange

T = TypeVar("T")


def run_together(tasks: list[Callable[[], T]]) -> list[T]:
    """Run every task on its own thread, released at the same moment; results in task order."""
    start = threading.Barrier(len(tasks))
    results: list[Any] = [None] * len(tasks)

    def run(index: int, task: Callable[[], T]) -> None:
        start.wait()
        try:
            results[index] = task()
        except Exception as exc:  # surfaced by the assertions, never swallowed
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request hung (deadlock?)"
    return results


def statuses(replies: list[Reply]) -> Counter[int]:
    assert all(isinstance(r, Reply) for r in replies), replies
    return Counter(r.status for r in replies)


def ordered_quantity(product_id: int) -> int:
    """Units of the product in orders that are not cancelled, as the database holds them."""
    with session_scope() as session:
        total = session.scalar(
            select(func.coalesce(func.sum(OrderItem.quantity), 0))
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.product_id == product_id, Order.status != "cancelled")
        )
        return int(total or 0)


@pytest.fixture
def shop(one_connection_per_thread: LambdaClient) -> LambdaClient:
    return one_connection_per_thread


def test_twenty_concurrent_checkouts_of_five_units_sell_exactly_five(shop: LambdaClient) -> None:
    (product,) = bulk_products(1, stock=5)
    buyers = [sign_up(shop) for _ in range(20)]
    for buyer in buyers:
        assert add_to_cart(shop, buyer, product, 1).status == 201
    replies = run_together([lambda b=b: checkout(LambdaClient(), b) for b in buyers])
    assert statuses(replies) == {201: 5, 409: 15}
    assert stock_of(product) == 0
    assert count_rows(Order) == 5
    assert ordered_quantity(product) == 5
    placed = {r.json()["id"] for r in replies if r.status == 201}
    with session_scope() as session:
        assert set(session.scalars(select(Order.id))) == placed
    assert count_rows(InventoryMovement, product_id=product, delta=-1) == 5
    refused = [r.json() for r in replies if r.status == 409]
    assert all(p["products"][0]["product_id"] == product for p in refused)


def test_checkouts_of_many_products_in_mixed_order_never_deadlock(shop: LambdaClient) -> None:
    products = bulk_products(8, stock=6)
    buyers = [sign_up(shop) for _ in range(12)]
    rng = random.Random(20261125)
    for buyer in buyers:
        lines = rng.sample(products, k=rng.randint(3, 6))
        rng.shuffle(lines)  # each cart is filled in its own order; checkout locks by id
        for product in lines:
            assert add_to_cart(shop, buyer, product, rng.randint(1, 2)).status == 201
    replies = run_together([lambda b=b: checkout(LambdaClient(), b) for b in buyers])
    counts = statuses(replies)
    assert set(counts) <= {201, 409}, [r.body for r in replies if r.status not in (201, 409)]
    assert counts[201] >= 1
    assert count_rows(Order) == counts[201]
    for product in products:
        assert stock_of(product) >= 0
        assert stock_of(product) + ordered_quantity(product) == 6


def test_ten_concurrent_retries_of_one_key_place_one_order(shop: LambdaClient) -> None:
    (product,) = bulk_products(1, stock=10)
    buyer = sign_up(shop)
    assert add_to_cart(shop, buyer, product, 3).status == 201
    replies = run_together(
        [lambda: checkout(LambdaClient(), buyer, key="double-click") for _ in range(10)]
    )
    counts = statuses(replies)
    assert counts[201] == 1
    assert set(counts) <= {200, 201, 409}
    (created,) = [r.json() for r in replies if r.status == 201]
    assert all(r.json()["id"] == created["id"] for r in replies if r.status == 200)
    assert all("Idempotency-Key" in r.json()["detail"] for r in replies if r.status == 409)
    assert count_rows(Order) == 1
    assert stock_of(product) == 7
    after = checkout(shop, buyer, key="double-click")  # once settled, every retry replays
    assert (after.status, after.json()["id"]) == (200, created["id"])


def test_concurrent_cancels_return_the_stock_once(shop: LambdaClient) -> None:
    (product,) = bulk_products(1, stock=5)
    buyer = sign_up(shop)
    admin = make_admin(shop)
    add_to_cart(shop, buyer, product, 4)
    order_id = checkout(shop, buyer).json()["id"]
    assert stock_of(product) == 1
    cancellers: list[Account] = [buyer, admin] * 5
    replies = run_together(
        [
            lambda who=who: LambdaClient().post(
                f"/orders/{order_id}/cancel", token=who.access_token
            )
            for who in cancellers
        ]
    )
    assert statuses(replies) == {200: 1, 409: 9}
    assert stock_of(product) == 5
    assert count_rows(OrderStatusChange, order_id=order_id, status="cancelled") == 1
    assert count_rows(InventoryMovement, product_id=product, delta=4) == 1
    assert count_rows(BehaviorEvent, event_type="order_cancel") == 1


def test_concurrent_first_adds_share_one_cart(shop: LambdaClient) -> None:
    products = bulk_products(6, stock=10)
    buyer = sign_up(shop)
    replies = run_together([lambda p=p: add_to_cart(LambdaClient(), buyer, p, 1) for p in products])
    assert statuses(replies) == {201: 6}
    cart = shop.get("/cart", token=buyer.access_token).json()
    assert sorted(i["product_id"] for i in cart["items"]) == sorted(products)


def test_checkout_racing_a_price_change_charges_one_consistent_price(shop: LambdaClient) -> None:
    (product,) = bulk_products(1, stock=50, price="10.00")
    admin = make_admin(shop)
    buyers = [sign_up(shop) for _ in range(6)]
    for buyer in buyers:
        add_to_cart(shop, buyer, product, 2)
    tasks: list[Callable[[], Reply]] = [
        lambda b=b: checkout(LambdaClient(), b, address=ADDRESS) for b in buyers
    ]
    tasks.append(
        lambda: LambdaClient().patch(
            f"/products/{product}", json={"price": "12.00"}, token=admin.access_token
        )
    )
    replies = run_together(tasks)
    assert statuses(replies) == {201: 6, 200: 1}
    for reply in replies[:-1]:
        item = reply.json()["items"][0]
        assert item["unit_price"] in ("10.00", "12.00")
        assert reply.json()["total"] == f"{2 * float(item['unit_price']):.2f}"
