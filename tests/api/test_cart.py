"""The cart: one per user, priced from the live catalog, checked against stock."""

from __future__ import annotations

from typing import Any

import pytest
from shopping import (
    add_to_cart,
    bulk_products,
    count_rows,
    events_of,
    new_product,
)
from support import Account, LambdaClient, make_admin, sign_up

from shop.models import CartItem


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


@pytest.fixture
def shopper(client: LambdaClient) -> Account:
    return sign_up(client)


def cart_of(client: LambdaClient, user: Account) -> dict[str, Any]:
    reply = client.get("/cart", token=user.access_token)
    assert reply.status == 200, reply.body
    return reply.json()


def test_a_new_user_has_an_empty_cart(client: LambdaClient, shopper: Account) -> None:
    assert cart_of(client, shopper) == {
        "items": [],
        "subtotal": "0.00",
        "discount": "0.00",
        "total": "0.00",
        "coupon_code": None,
        "coupon_description": None,
        "item_count": 0,
        "can_checkout": False,
    }


def test_adding_a_product_shows_it_with_price_and_line_total(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="19.99", stock=7, name="Teapot")
    reply = add_to_cart(client, shopper, product, 3)
    assert reply.status == 201, reply.body
    assert reply.headers["location"] == "/cart"
    assert reply.json() == {
        "items": [
            {
                "product_id": product,
                "name": "Teapot",
                "unit_price": "19.99",
                "quantity": 3,
                "line_total": "59.97",
                "available": True,
                "is_active": True,
                "stock": 7,
            }
        ],
        "subtotal": "59.97",
        "discount": "0.00",
        "total": "59.97",
        "coupon_code": None,
        "coupon_description": None,
        "item_count": 3,
        "can_checkout": True,
    }
    assert cart_of(client, shopper) == reply.json()


def test_adding_the_same_product_again_adds_to_its_line(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="0.10", stock=50)
    other = new_product(client, admin, price="2.05", stock=50)
    add_to_cart(client, shopper, product, 2)
    add_to_cart(client, shopper, other, 1)
    reply = add_to_cart(client, shopper, product, 5)
    assert reply.status == 201
    body = reply.json()
    assert [(i["product_id"], i["quantity"]) for i in body["items"]] == [(product, 7), (other, 1)]
    assert body["subtotal"] == "2.75"  # 7 x 0.10 + 2.05, exact in Decimal
    assert body["item_count"] == 8


@pytest.mark.parametrize("quantity", [0, -1, 101, 1.5, "abc", None, "2", True])
def test_bad_quantities_are_422_and_change_nothing(
    client: LambdaClient, admin: Account, shopper: Account, quantity: Any
) -> None:
    product = new_product(client, admin)
    reply = add_to_cart(client, shopper, product, quantity)
    assert reply.status == 422, reply.body
    assert reply.is_problem
    assert reply.json()["errors"][0]["loc"] == ["body", "quantity"]
    assert count_rows(CartItem) == 0


def test_missing_or_malformed_product_id_is_422(client: LambdaClient, shopper: Account) -> None:
    for body in ({}, {"product_id": "x"}, {"product_id": 0}, {"product_id": None}):
        reply = client.post("/cart/items", json=body, token=shopper.access_token)
        assert reply.status == 422, (body, reply.body)


def test_unknown_or_inactive_product_is_404(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin)
    assert client.delete(f"/products/{product}", token=admin.access_token).status == 204
    assert add_to_cart(client, shopper, product).status == 404
    assert add_to_cart(client, shopper, 999_999).status == 404
    assert count_rows(CartItem) == 0


def test_more_than_in_stock_is_409_with_the_stock_left(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=4)
    assert add_to_cart(client, shopper, product, 3).status == 201
    reply = add_to_cart(client, shopper, product, 2)  # 5 wanted, 4 left
    assert reply.status == 409
    assert reply.is_problem
    assert reply.json()["stock"] == 4
    assert "4" in reply.json()["detail"]
    assert cart_of(client, shopper)["items"][0]["quantity"] == 3


def test_a_line_never_holds_more_than_100_units(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=500)
    assert add_to_cart(client, shopper, product, 100).status == 201
    reply = add_to_cart(client, shopper, product, 1)
    assert reply.status == 409
    assert "100" in reply.json()["detail"]
    assert cart_of(client, shopper)["items"][0]["quantity"] == 100


def test_a_cart_holds_at_most_50_lines(client: LambdaClient, shopper: Account) -> None:
    products = bulk_products(51)
    for product in products[:50]:
        assert add_to_cart(client, shopper, product).status == 201
    reply = add_to_cart(client, shopper, products[50])
    assert reply.status == 409
    assert "50" in reply.json()["detail"]
    assert count_rows(CartItem) == 50
    assert add_to_cart(client, shopper, products[0]).status == 201  # existing line still grows


def test_patch_sets_the_quantity_and_zero_removes_the_line(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=10, price="3.00")
    add_to_cart(client, shopper, product, 2)
    path = f"/cart/items/{product}"
    reply = client.patch(path, json={"quantity": 6}, token=shopper.access_token)
    assert reply.status == 200
    assert reply.json()["subtotal"] == "18.00"
    assert client.patch(path, json={"quantity": 11}, token=shopper.access_token).status == 409
    for bad in (-1, 101, 2.5, "x", None):
        assert client.patch(path, json={"quantity": bad}, token=shopper.access_token).status == 422
    reply = client.patch(path, json={"quantity": 0}, token=shopper.access_token)
    assert reply.status == 200
    assert reply.json()["items"] == []
    assert client.patch(path, json={"quantity": 1}, token=shopper.access_token).status == 404


def test_delete_removes_one_line_or_the_whole_cart(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    first, second = new_product(client, admin), new_product(client, admin)
    add_to_cart(client, shopper, first)
    add_to_cart(client, shopper, second, 2)
    reply = client.delete(f"/cart/items/{first}", token=shopper.access_token)
    assert reply.status == 204
    assert [i["product_id"] for i in cart_of(client, shopper)["items"]] == [second]
    assert client.delete(f"/cart/items/{first}", token=shopper.access_token).status == 404
    assert client.delete("/cart", token=shopper.access_token).status == 204
    assert cart_of(client, shopper)["items"] == []
    assert client.delete("/cart", token=shopper.access_token).status == 204


def test_another_users_cart_line_is_404_and_untouched(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin)
    add_to_cart(client, shopper, product, 2)
    intruder = sign_up(client)
    path = f"/cart/items/{product}"
    assert client.delete(path, token=intruder.access_token).status == 404
    assert client.patch(path, json={"quantity": 5}, token=intruder.access_token).status == 404
    assert cart_of(client, intruder)["items"] == []
    assert cart_of(client, shopper)["items"][0]["quantity"] == 2


def test_a_deactivated_product_stays_in_the_cart_as_unavailable(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    add_to_cart(client, shopper, product, 2)
    client.delete(f"/products/{product}", token=admin.access_token)
    body = cart_of(client, shopper)
    assert body["items"][0]["available"] is False
    assert body["items"][0]["is_active"] is False
    assert body["can_checkout"] is False
    path = f"/cart/items/{product}"
    assert client.patch(path, json={"quantity": 3}, token=shopper.access_token).status == 409
    assert client.patch(path, json={"quantity": 1}, token=shopper.access_token).status == 200


def test_lines_follow_the_catalog_price_and_stock(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5, price="10.00")
    add_to_cart(client, shopper, product, 4)
    client.patch(
        f"/products/{product}", json={"price": "12.50", "stock": 3}, token=admin.access_token
    )
    line = cart_of(client, shopper)["items"][0]
    assert (line["unit_price"], line["line_total"]) == ("12.50", "50.00")
    assert line["available"] is False  # 4 wanted, 3 left
    assert line["stock"] == 3


def test_the_cart_needs_a_signed_in_user(client: LambdaClient) -> None:
    assert client.get("/cart").status == 401
    assert client.post("/cart/items", json={"product_id": 1, "quantity": 1}).status == 401
    assert client.delete("/cart").status == 401


def test_cart_changes_are_recorded_as_behavior_events(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=10, price="4.00")
    add_to_cart(client, shopper, product, 2)
    client.patch(f"/cart/items/{product}", json={"quantity": 5}, token=shopper.access_token)
    client.patch(f"/cart/items/{product}", json={"quantity": 1}, token=shopper.access_token)
    client.delete(f"/cart/items/{product}", token=shopper.access_token)
    assert events_of(shopper.id, "cart_add", "cart_remove") == [
        ("cart_add", product, {"quantity": 2, "line_quantity": 2, "price": "4.00"}),
        ("cart_add", product, {"quantity": 3, "line_quantity": 5}),
        ("cart_remove", product, {"quantity": 4, "line_quantity": 1}),
        ("cart_remove", product, {"quantity": 1, "line_quantity": 0}),
    ]


def test_a_refused_add_records_no_event(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=1)
    assert add_to_cart(client, shopper, product, 2).status == 409
    assert events_of(shopper.id, "cart_add") == []
