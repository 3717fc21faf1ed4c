"""Orders: checkout in one transaction, idempotent retries, status moves, visibility, stats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from paying import pay
from shopping import (
    ADDRESS,
    add_to_cart,
    checkout,
    count_rows,
    events_of,
    new_product,
    stock_of,
)
from sqlalchemy import select, update
from support import FIXED_NOW, Account, LambdaClient, make_admin, sign_up

from shop.coltypes import utcnow
from shop.db import session_scope
from shop.models import (
    CartItem,
    IdempotencyRecord,
    InventoryMovement,
    Order,
    OrderItem,
    OrderStatusChange,
)
from shop.services.idempotency import request_hash

ORDER_FIELDS = {
    "id",
    "user_id",
    "status",
    "items",
    "item_count",
    "subtotal",
    "total",
    "shipping_address",
    "status_history",
    "currency",
    "refunded_total",
    "hold_until",
    "paid_at",
    "payment_error",
    "created_at",
    "updated_at",
}


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


@pytest.fixture
def shopper(client: LambdaClient) -> Account:
    return sign_up(client)


def place(client: LambdaClient, user: Account, lines: list[tuple[int, int]]) -> dict[str, Any]:
    """Fill the user's cart with (product, quantity) lines and check out; the new order."""
    for product, quantity in lines:
        assert add_to_cart(client, user, product, quantity).status == 201
    reply = checkout(client, user)
    assert reply.status == 201, reply.body
    return reply.json()


def set_status(client: LambdaClient, admin: Account, order_id: int, status: str) -> Any:
    return client.patch(
        f"/orders/{order_id}/status", json={"status": status}, token=admin.access_token
    )


# --- checkout -----------------------------------------------------------------------------


def test_checkout_turns_the_cart_into_an_order_in_one_go(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    kettle = new_product(client, admin, name="Kettle", price="19.99", stock=10)
    spoon = new_product(client, admin, name="Spoon", price="0.10", stock=10)
    add_to_cart(client, shopper, kettle, 3)
    add_to_cart(client, shopper, spoon, 2)
    reply = checkout(client, shopper)
    assert reply.status == 201, reply.body
    order = reply.json()
    assert set(order) == ORDER_FIELDS | {"payment"}
    assert reply.headers["location"] == f"/orders/{order['id']}"
    assert order["status"] == "awaiting_payment"
    assert order["user_id"] == shopper.id
    assert [
        (i["name"], i["unit_price"], i["quantity"], i["line_total"]) for i in order["items"]
    ] == [
        ("Kettle", "19.99", 3, "59.97"),
        ("Spoon", "0.10", 2, "0.20"),
    ]
    assert (order["subtotal"], order["total"], order["item_count"]) == ("60.17", "60.17", 5)
    assert order["shipping_address"] == {**ADDRESS, "line2": None}
    assert [h["status"] for h in order["status_history"]] == ["awaiting_payment"]
    assert order["status_history"][0]["actor_id"] == shopper.id
    assert order["status_history"][0]["actor_kind"] == "shopper"
    assert order["payment"]["test_mode"] is True
    assert (order["payment"]["amount"], order["currency"]) == ("60.17", "USD")
    assert (stock_of(kettle), stock_of(spoon)) == (7, 8)
    assert client.get("/cart", token=shopper.access_token).json()["items"] == []
    assert events_of(shopper.id, "checkout") == [
        (
            "checkout",
            None,
            {
                "order_id": order["id"],
                "total": "60.17",
                "item_count": 5,
                "product_ids": sorted([kettle, spoon]),
            },
        )
    ]
    assert count_rows(InventoryMovement, product_id=kettle, delta=-3) == 1


def test_checkout_without_an_idempotency_key_is_400_and_changes_nothing(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=3)
    add_to_cart(client, shopper, product, 1)
    for headers in ({}, {"Idempotency-Key": ""}, {"Idempotency-Key": "k" * 256}):
        reply = client.post(
            "/orders",
            json={"shipping_address": ADDRESS},
            token=shopper.access_token,
            headers=headers,
        )
        assert reply.status == 400, (headers, reply.body)
        assert reply.is_problem
    assert checkout(client, shopper, key="k" * 255).status == 201  # the longest allowed key
    assert count_rows(Order) == 1


def test_a_retry_with_the_same_key_returns_the_same_order_and_takes_nothing_twice(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    add_to_cart(client, shopper, product, 2)
    first = checkout(client, shopper, key="checkout-1")
    assert first.status == 201
    add_to_cart(client, shopper, product, 1)  # a new cart must not be bought by the retry
    again = checkout(client, shopper, key="checkout-1")
    assert again.status == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["items"] == first.json()["items"]
    assert count_rows(Order) == 1
    assert stock_of(product) == 3
    assert len(client.get("/cart", token=shopper.access_token).json()["items"]) == 1


def test_the_same_key_with_another_body_is_422(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    add_to_cart(client, shopper, product, 1)
    assert checkout(client, shopper, key="k-1").status == 201
    add_to_cart(client, shopper, product, 1)
    reply = checkout(client, shopper, key="k-1", address={**ADDRESS, "city": "Paris"})
    assert reply.status == 422
    assert reply.is_problem
    assert "Idempotency-Key" in reply.json()["detail"]
    assert count_rows(Order) == 1
    assert stock_of(product) == 4


def test_keys_are_per_user(client: LambdaClient, admin: Account, shopper: Account) -> None:
    product = new_product(client, admin, stock=5)
    add_to_cart(client, shopper, product, 1)
    mine = checkout(client, shopper, key="shared-key").json()
    other = sign_up(client)
    add_to_cart(client, other, product, 2)
    reply = checkout(client, other, key="shared-key")
    assert reply.status == 201
    assert reply.json()["id"] != mine["id"]
    assert reply.json()["user_id"] == other.id


def test_a_key_is_still_running_gives_409_and_a_dead_one_is_taken_over(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    add_to_cart(client, shopper, product, 1)
    digest = request_hash({"shipping_address": {**ADDRESS, "line2": None}})
    with session_scope() as session:  # another request claimed the key and is still working
        session.add(IdempotencyRecord(user_id=shopper.id, key="busy", request_hash=digest))
    reply = checkout(client, shopper, key="busy")
    assert reply.status == 409
    assert count_rows(Order) == 0
    with session_scope() as session:  # the first request died long ago
        session.execute(update(IdempotencyRecord).values(locked_at=utcnow() - timedelta(minutes=5)))
    reply = checkout(client, shopper, key="busy")
    assert reply.status == 201
    assert checkout(client, shopper, key="busy").json()["id"] == reply.json()["id"]


def test_an_empty_cart_is_409_and_the_key_can_be_used_once_the_cart_is_filled(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    reply = checkout(client, shopper, key="early")
    assert reply.status == 409
    assert "empty" in reply.json()["detail"]
    assert count_rows(IdempotencyRecord) == 0
    add_to_cart(client, shopper, new_product(client, admin), 1)
    assert checkout(client, shopper, key="early").status == 201


def test_not_enough_stock_is_409_naming_the_products_and_changes_nothing(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    plenty = new_product(client, admin, name="Plenty", stock=10)
    scarce = new_product(client, admin, name="Scarce", stock=3)
    add_to_cart(client, shopper, plenty, 2)
    add_to_cart(client, shopper, scarce, 3)
    client.post(
        f"/products/{scarce}/inventory",
        json={"delta": -2, "reason": "breakage"},
        token=admin.access_token,
    )
    reply = checkout(client, shopper)
    assert reply.status == 409
    problem = reply.json()
    assert "Scarce" in problem["detail"]
    assert problem["products"] == [
        {
            "product_id": scarce,
            "name": "Scarce",
            "requested": 3,
            "stock": 1,
            "reason": "not enough stock",
        }
    ]
    assert (stock_of(plenty), stock_of(scarce)) == (10, 1)
    assert count_rows(Order) == count_rows(OrderItem) == 0
    assert count_rows(CartItem) == 2
    assert events_of(shopper.id, "checkout") == []


def test_a_deactivated_product_blocks_checkout_with_409(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    gone = new_product(client, admin, name="Discontinued", stock=5)
    add_to_cart(client, shopper, gone, 1)
    client.delete(f"/products/{gone}", token=admin.access_token)
    reply = checkout(client, shopper)
    assert reply.status == 409
    assert reply.json()["products"][0]["reason"] == "no longer sold"
    assert "Discontinued" in reply.json()["detail"]
    assert stock_of(gone) == 5
    assert count_rows(Order) == 0


@pytest.mark.parametrize(
    "address",
    [
        {},
        {**ADDRESS, "name": ""},
        {**ADDRESS, "line1": "   "},
        {**ADDRESS, "city": "x" * 101},
        {**ADDRESS, "postal_code": "1" * 21},
        {k: v for k, v in ADDRESS.items() if k != "country"},
        {**ADDRESS, "line2": "y" * 201},
        {**ADDRESS, "name": None},
    ],
)
def test_missing_or_too_long_shipping_fields_are_422(
    client: LambdaClient, admin: Account, shopper: Account, address: dict[str, Any]
) -> None:
    product = new_product(client, admin, stock=2)
    add_to_cart(client, shopper, product, 1)
    reply = checkout(client, shopper, address=address)
    assert reply.status == 422, reply.body
    assert stock_of(product) == 2
    assert count_rows(Order) == 0 and count_rows(IdempotencyRecord) == 0


def test_order_prices_never_follow_later_catalog_changes(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, name="Lamp", price="30.00", stock=5)
    order = place(client, shopper, [(product, 2)])
    client.patch(
        f"/products/{product}", json={"price": "99.00", "name": "Lamp v2"}, token=admin.access_token
    )
    again = client.get(f"/orders/{order['id']}", token=shopper.access_token).json()
    assert again["items"][0]["unit_price"] == "30.00"
    assert again["items"][0]["name"] == "Lamp"
    assert again["total"] == "60.00"


def test_orders_need_a_signed_in_user(client: LambdaClient) -> None:
    assert client.get("/orders").status == 401
    reply = client.post(
        "/orders", json={"shipping_address": ADDRESS}, headers={"Idempotency-Key": "x"}
    )
    assert reply.status == 401


# --- reading ------------------------------------------------------------------------------


def test_another_users_order_is_404_but_admins_see_it(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, [(new_product(client, admin), 1)])
    stranger = sign_up(client)
    path = f"/orders/{order['id']}"
    assert client.get(path, token=stranger.access_token).status == 404
    assert client.post(f"{path}/cancel", token=stranger.access_token).status == 404
    assert client.get(path, token=admin.access_token).json()["id"] == order["id"]
    assert client.get("/orders/999999", token=shopper.access_token).status == 404
    assert client.get(path, token=shopper.access_token).json()["status"] == "awaiting_payment"


def test_orders_are_listed_newest_first_and_filter_by_status(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=20)
    ids = [place(client, shopper, [(product, 1)])["id"] for _ in range(3)]
    client.post(f"/orders/{ids[0]}/cancel", token=shopper.access_token)
    other = sign_up(client)
    place(client, other, [(product, 1)])

    mine = client.get("/orders", token=shopper.access_token).json()
    assert [o["id"] for o in mine["items"]] == ids[::-1]
    assert (mine["total"], mine["page"], mine["page_size"]) == (3, 1, 20)
    cancelled = client.get("/orders", params={"status": "cancelled"}, token=shopper.access_token)
    assert [o["id"] for o in cancelled.json()["items"]] == [ids[0]]
    paged = client.get("/orders", params={"page": 2, "page_size": 2}, token=shopper.access_token)
    assert [o["id"] for o in paged.json()["items"]] == [ids[0]]
    assert (
        client.get("/orders", params={"status": "lost"}, token=shopper.access_token).status == 422
    )


def test_admins_list_every_order_and_customers_may_not(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=20)
    place(client, shopper, [(product, 1)])
    place(client, sign_up(client), [(product, 1)])
    everyone = client.get("/orders", params={"all": "true"}, token=admin.access_token)
    assert everyone.json()["total"] == 2
    assert client.get("/orders", token=admin.access_token).json()["total"] == 0
    refused = client.get("/orders", params={"all": "true"}, token=shopper.access_token)
    assert refused.status == 403


# --- status moves and cancellation --------------------------------------------------------


def test_cancel_returns_the_stock_and_records_the_move(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    order = place(client, shopper, [(product, 4)])
    assert stock_of(product) == 1
    reply = client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token)
    assert reply.status == 200
    assert reply.json()["status"] == "cancelled"
    history = reply.json()["status_history"]
    assert [(h["status"], h["actor_kind"]) for h in history] == [
        ("awaiting_payment", "shopper"),
        ("cancelled", "shopper"),
    ]
    assert stock_of(product) == 5
    assert events_of(shopper.id, "order_cancel")[0][2]["order_id"] == order["id"]
    again = client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token)
    assert again.status == 409
    assert stock_of(product) == 5


def test_status_moves_forward_only_and_each_is_recorded(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    order_id = place(client, shopper, [(product, 1)])["id"]
    refused = set_status(client, admin, order_id, "shipped")
    assert refused.status == 409
    assert refused.json()["allowed"] == ["paid", "payment_failed", "expired", "cancelled"]
    assert "paid, payment_failed, expired, cancelled" in refused.json()["detail"]
    assert pay(client, shopper, order_id).status == 200
    for status in ("shipped", "delivered"):
        reply = set_status(client, admin, order_id, status)
        assert reply.status == 200, reply.body
        assert reply.json()["status"] == status
    history = reply.json()["status_history"]
    assert [(h["status"], h["actor_kind"], h["actor_id"]) for h in history] == [
        ("awaiting_payment", "shopper", shopper.id),
        ("paid", "provider", None),
        ("shipped", "admin", admin.id),
        ("delivered", "admin", admin.id),
    ]
    cancel = client.post(f"/orders/{order_id}/cancel", token=shopper.access_token)
    assert cancel.status == 409
    assert "delivered" in cancel.json()["detail"]
    assert set_status(client, admin, order_id, "awaiting_payment").status == 409
    assert stock_of(product) == 4
    assert count_rows(OrderStatusChange, order_id=order_id) == 4


def test_admins_can_not_set_paid_by_hand_and_are_told_why(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order_id = place(client, shopper, [(new_product(client, admin), 1)])["id"]
    for status in ("paid", "refunded", "partially_refunded", "expired", "payment_failed"):
        reply = set_status(client, admin, order_id, status)
        assert reply.status == 409, (status, reply.body)
        assert reply.is_problem
        assert reply.json()["settable"] == ["shipped", "delivered", "cancelled"]
    assert (
        "only when the payment provider confirms"
        in set_status(client, admin, order_id, "paid").json()["detail"]
    )
    assert count_rows(OrderStatusChange, order_id=order_id) == 1
    with session_scope() as session:
        assert session.scalar(select(Order.status).where(Order.id == order_id)) == (
            "awaiting_payment"
        )


def test_shipped_orders_cannot_be_cancelled_but_paid_ones_are_refunded_by_an_admin(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5, price="4.00")
    shipped = place(client, shopper, [(product, 1)])["id"]
    paid = place(client, shopper, [(product, 2)])["id"]
    for order_id in (shipped, paid):
        assert pay(client, shopper, order_id).status == 200
    set_status(client, admin, shipped, "shipped")
    assert set_status(client, admin, shipped, "cancelled").status == 409
    assert stock_of(product) == 2
    reply = set_status(client, admin, paid, "cancelled")
    assert reply.status == 200
    assert (reply.json()["status"], reply.json()["refunded_total"]) == ("refunded", "8.00")
    assert reply.json()["status_history"][-1] == {
        **reply.json()["status_history"][-1],
        "status": "refunded",
        "actor_id": admin.id,
        "actor_kind": "admin",
    }
    assert stock_of(product) == 4
    assert events_of(shopper.id, "order_cancel")[0][2]["by_admin"] is True


def test_only_admins_change_status_and_only_to_known_statuses(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order_id = place(client, shopper, [(new_product(client, admin), 1)])["id"]
    assert set_status(client, shopper, order_id, "shipped").status == 403
    assert set_status(client, admin, order_id, "teleported").status == 422
    assert set_status(client, admin, order_id, "pending").status == 422
    assert set_status(client, admin, 424242, "shipped").status == 404
    assert set_status(client, admin, order_id, "awaiting_payment").status == 409
    with session_scope() as session:
        assert session.scalar(select(Order.status).where(Order.id == order_id)) == (
            "awaiting_payment"
        )


def test_unknown_fields_never_set_an_orders_status_or_total(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="5.00")
    add_to_cart(client, shopper, product, 1)
    reply = client.post(
        "/orders",
        json={"shipping_address": ADDRESS, "status": "delivered", "total": "0.01"},
        token=shopper.access_token,
        headers={"Idempotency-Key": "mass-assignment"},
    )
    assert reply.status == 201
    assert (reply.json()["status"], reply.json()["total"]) == ("awaiting_payment", "5.00")


# --- sales stats (admin dashboard extension) ----------------------------------------------


@pytest.fixture
def noon() -> Iterator[None]:
    """A ticking clock from FIXED_NOW (midday): a test that groups by UTC day must not cross
    midnight between placing its orders and reading them. Ask for it before the accounts."""
    import time_machine

    with time_machine.travel(FIXED_NOW, tick=True):
        yield


def test_stats_sum_revenue_per_day_by_status_and_best_sellers(
    noon: None, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    mug = new_product(client, admin, name="Mug", price="8.50", stock=50)
    pan = new_product(client, admin, name="Pan", price="40.00", stock=50)
    first = place(client, shopper, [(mug, 4), (pan, 1)])  # 74.00
    assert pay(client, shopper, first["id"]).status == 200
    other = sign_up(client)
    second = place(client, other, [(mug, 1)])  # 8.50
    assert pay(client, other, second["id"]).status == 200
    place(client, shopper, [(pan, 2)])  # 80.00, never paid: no revenue
    cancelled = place(client, shopper, [(pan, 3)])  # 120.00, cancelled: no revenue
    client.post(f"/orders/{cancelled['id']}/cancel", token=shopper.access_token)
    reply = client.get("/orders/stats", params={"days": 7}, token=admin.access_token)
    assert reply.status == 200, reply.body
    stats = reply.json()
    assert stats["days"] == 7
    assert len(stats["by_day"]) == 7
    today = stats["by_day"][-1]
    assert today == {"day": utcnow().date().isoformat(), "orders": 4, "revenue": "82.50"}
    assert all(day["orders"] == 0 for day in stats["by_day"][:-1])
    assert stats["by_status"] == {
        "awaiting_payment": 1,
        "paid": 2,
        "shipped": 0,
        "delivered": 0,
        "payment_failed": 0,
        "expired": 0,
        "cancelled": 1,
        "partially_refunded": 0,
        "refunded": 0,
    }
    assert stats["totals"] == {
        "orders": 2,
        "revenue": "82.50",
        "average_order_value": "41.25",
        "items_sold": 6,
        "customers": 2,
        "cancelled": 1,
    }
    assert [(p["name"], p["quantity"], p["revenue"]) for p in stats["top_products_by_revenue"]] == [
        ("Mug", 5, "42.50"),
        ("Pan", 1, "40.00"),
    ]
    assert [p["name"] for p in stats["top_products_by_quantity"]] == ["Mug", "Pan"]


def test_stats_group_by_utc_day_and_leave_out_older_orders(
    noon: None, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="10.00", stock=50)
    ids = [place(client, shopper, [(product, 1)])["id"] for _ in range(3)]
    for order_id in ids:
        assert pay(client, shopper, order_id).status == 200
    now = utcnow()
    yesterday_late = (now - timedelta(days=1)).replace(hour=23, minute=59, second=59)
    with session_scope() as session:
        session.execute(update(Order).where(Order.id == ids[0]).values(created_at=yesterday_late))
        session.execute(
            update(Order).where(Order.id == ids[1]).values(created_at=now - timedelta(days=40))
        )
    stats = client.get("/orders/stats", params={"days": 2}, token=admin.access_token).json()
    assert [(d["orders"], d["revenue"]) for d in stats["by_day"]] == [(1, "10.00"), (1, "10.00")]
    assert stats["totals"]["orders"] == 2


def test_stats_are_for_admins_and_validate_days(client: LambdaClient, shopper: Account) -> None:
    assert client.get("/orders/stats", token=shopper.access_token).status == 403
    assert client.get("/orders/stats").status == 401
    admin = make_admin(client)
    for days in ("0", "367", "x"):
        reply = client.get("/orders/stats", params={"days": days}, token=admin.access_token)
        assert reply.status == 422
    empty = client.get("/orders/stats", token=admin.access_token).json()
    assert empty["totals"]["revenue"] == "0.00"
    assert len(empty["by_day"]) == 30
