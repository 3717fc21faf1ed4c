"""Coupons: the saving in the cart, the discount at checkout, refusals that say why, admin CRUD."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from shopping import add_to_cart, checkout, count_rows, events_of, new_coupon, new_product, stock_of
from support import Account, LambdaClient, make_admin, sign_up

from shop.coltypes import utcnow
from shop.db import session_scope
from shop.models import Coupon, CouponRedemption, Order


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


@pytest.fixture
def shopper(client: LambdaClient) -> Account:
    return sign_up(client)


def fill_cart(
    client: LambdaClient, admin: Account, user: Account, price: str, quantity: int = 1
) -> int:
    product = new_product(client, admin, price=price, stock=10)
    assert add_to_cart(client, user, product, quantity).status == 201
    return product


def uses_of(coupon_id: int) -> tuple[int, int]:
    """(redemption_count on the coupon, redemption rows) as the database holds them."""
    with session_scope() as session:
        coupon = session.get(Coupon, coupon_id)
        assert coupon is not None
        return coupon.redemption_count, count_rows(CouponRedemption, coupon_id=coupon_id)


def iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat()


# --- checkout -----------------------------------------------------------------------------


def test_percent_coupon_shows_its_saving_in_the_cart_and_comes_off_the_order(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    fill_cart(client, admin, shopper, "3.33", quantity=3)  # 9.99; 15% is 1.4985
    coupon = new_coupon(client, admin, code="spring15", value="15", description="Spring sale")
    assert coupon["code"] == "SPRING15"

    cart = client.get("/cart", params={"coupon": "Spring15"}, token=shopper.access_token).json()
    assert (cart["subtotal"], cart["discount"], cart["total"]) == ("9.99", "1.50", "8.49")
    assert (cart["coupon_code"], cart["coupon_description"]) == ("SPRING15", "Spring sale")
    assert uses_of(coupon["id"]) == (0, 0)  # a preview uses nothing

    reply = checkout(client, shopper, coupon="spring15")
    assert reply.status == 201, reply.body
    order = reply.json()
    assert (order["subtotal"], order["discount"], order["total"]) == ("9.99", "1.50", "8.49")
    assert order["coupon_id"] == coupon["id"]
    assert uses_of(coupon["id"]) == (1, 1)
    with session_scope() as session:
        redemption = session.query(CouponRedemption).one()
        assert (redemption.order_id, redemption.user_id) == (order["id"], shopper.id)
        assert str(redemption.discount) == "1.50"
    (_type, _product, payload) = events_of(shopper.id, "checkout")[0]
    assert payload["total"] == "8.49"
    assert client.get("/cart", token=shopper.access_token).json()["discount"] == "0.00"


def test_amount_off_never_takes_the_total_below_zero(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    fill_cart(client, admin, shopper, "4.00")
    coupon = new_coupon(client, admin, kind="amount", value="25.00")
    order = checkout(client, shopper, coupon=coupon["code"]).json()
    assert (order["subtotal"], order["discount"], order["total"]) == ("4.00", "4.00", "0.00")


def test_an_order_without_a_code_has_no_discount(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    fill_cart(client, admin, shopper, "7.50")
    order = checkout(client, shopper).json()
    assert (order["discount"], order["total"], order["coupon_id"]) == ("0.00", "7.50", None)


def test_a_retried_checkout_counts_the_code_once(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    fill_cart(client, admin, shopper, "20.00")
    coupon = new_coupon(client, admin, kind="amount", value="5", per_customer_limit=None)
    first = checkout(client, shopper, key="retry-me", coupon=coupon["code"])
    again = checkout(client, shopper, key="retry-me", coupon=coupon["code"])
    assert (first.status, again.status) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert uses_of(coupon["id"]) == (1, 1)
    other = checkout(client, shopper, key="retry-me", coupon="OTHERCODE")
    assert other.status == 422  # the same key with another code is another request


# --- refusals -----------------------------------------------------------------------------


def refusal(client: LambdaClient, user: Account, code: str) -> dict[str, Any]:
    """Check out with `code`; the 422 problem, after proving nothing changed."""
    orders_before = count_rows(Order)
    cart_before = client.get("/cart", token=user.access_token).json()
    reply = checkout(client, user, coupon=code)
    assert reply.status == 422, reply.body
    assert reply.is_problem
    assert count_rows(Order) == orders_before
    assert client.get("/cart", token=user.access_token).json() == cart_before
    for line in cart_before["items"]:
        assert stock_of(line["product_id"]) == line["stock"]
    preview = client.get("/cart", params={"coupon": code}, token=user.access_token)
    assert preview.status == 422
    assert (preview.json()["reason"], preview.json()["detail"]) == (
        reply.json()["reason"],
        reply.json()["detail"],
    )
    return dict(reply.json())


def test_bad_codes_say_why_and_change_nothing(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    fill_cart(client, admin, shopper, "30.00")
    someone = sign_up(client)
    cases = {
        "unknown": "NOSUCHCODE",
        "expired": new_coupon(
            client, admin, starts_at=iso(timedelta(days=-9)), ends_at=iso(timedelta(days=-2))
        )["code"],
        "not_started": new_coupon(client, admin, starts_at=iso(timedelta(days=3)))["code"],
        "not_yours": new_coupon(client, admin, user_id=someone.id)["code"],
        "minimum_not_reached": new_coupon(client, admin, min_order="50.00")["code"],
    }
    words = {
        "unknown": "There is no coupon",
        "expired": "expired on",
        "not_started": "can be used from",
        "not_yours": "belongs to another customer",
        "minimum_not_reached": "at least 50.00; your cart comes to 30.00",
    }
    for reason, code in cases.items():
        problem = refusal(client, shopper, code)
        assert problem["reason"] == reason
        assert words[reason] in problem["detail"]
        assert problem["errors"][0]["loc"] == ["body", "coupon_code"]


def test_a_code_used_up_by_the_customer_or_by_everyone_is_refused(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    once_each = new_coupon(client, admin)  # per_customer_limit defaults to 1
    two_in_all = new_coupon(client, admin, max_redemptions=2, per_customer_limit=None)
    fill_cart(client, admin, shopper, "10.00")
    assert checkout(client, shopper, coupon=once_each["code"]).status == 201
    fill_cart(client, admin, shopper, "10.00")
    problem = refusal(client, shopper, once_each["code"])
    assert problem["reason"] == "already_used"
    assert "You have already used" in problem["detail"]

    for buyer in (shopper, sign_up(client)):
        fill_cart(client, admin, buyer, "10.00")
        assert checkout(client, buyer, coupon=two_in_all["code"]).status == 201
    late = sign_up(client)
    fill_cart(client, admin, late, "10.00")
    assert refusal(client, late, two_in_all["code"])["reason"] == "limit_reached"
    assert uses_of(two_in_all["id"]) == (2, 2)


def test_a_personal_code_works_for_its_owner(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    coupon = new_coupon(client, admin, user_id=shopper.id, kind="amount", value="3")
    fill_cart(client, admin, shopper, "10.00")
    assert checkout(client, shopper, coupon=coupon["code"]).json()["total"] == "7.00"


# --- admin --------------------------------------------------------------------------------


def test_admins_create_list_change_and_deactivate_coupons(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    token = admin.access_token
    coupon = new_coupon(client, admin, code="WELCOME5", kind="amount", value="5.00")
    assert coupon["per_customer_limit"] == 1
    duplicate = client.post(
        "/orders/coupons", json={"code": "welcome5", "kind": "percent", "value": 5}, token=token
    )
    assert duplicate.status == 409
    listed = client.get("/orders/coupons", params={"code": "WEL"}, token=token).json()
    assert [c["code"] for c in listed["items"]] == ["WELCOME5"]

    path = f"/orders/coupons/{coupon['id']}"
    changed = client.patch(path, json={"value": "7.50", "min_order": "20"}, token=token)
    assert changed.status == 200, changed.body
    assert (changed.json()["value"], changed.json()["min_order"]) == ("7.50", "20.00")
    cleared = client.patch(path, json={"min_order": None}, token=token).json()
    assert cleared["min_order"] is None
    assert client.patch(path, json={"value": None}, token=token).status == 422

    assert client.delete(path, token=token).status == 204
    assert client.get(path, token=token).json()["is_active"] is False
    fill_cart(client, admin, shopper, "30.00")
    assert refusal(client, shopper, "WELCOME5")["reason"] == "unknown"
    assert client.get("/orders/coupons/999999", token=token).status == 404
    assert client.delete("/orders/coupons/999999", token=token).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "percent", "value": "101"}, "value"),
        ({"kind": "amount", "value": "0"}, "value"),
        ({"kind": "half", "value": "5"}, "kind"),
        ({"kind": "amount", "value": "5", "max_redemptions": 0}, "max_redemptions"),
        ({"kind": "amount", "value": "5", "user_id": 999999}, "user_id"),
        (
            {
                "kind": "amount",
                "value": "5",
                "starts_at": "2030-01-02T00:00:00Z",
                "ends_at": "2030-01-01T00:00:00Z",
            },
            "ends_at",
        ),
        ({"kind": "amount", "value": "5", "ends_at": "2030-01-01T00:00:00"}, "ends_at"),
    ],
)
def test_bad_coupons_are_refused_with_the_field(
    client: LambdaClient, admin: Account, body: dict[str, Any], field: str
) -> None:
    reply = client.post(
        "/orders/coupons", json={"code": "BADONE", **body}, token=admin.access_token
    )
    assert reply.status == 422, reply.body
    assert field in {str(part) for error in reply.json()["errors"] for part in error["loc"]}
    assert count_rows(Coupon) == 0


def test_customers_cannot_manage_coupons(client: LambdaClient, shopper: Account) -> None:
    token = shopper.access_token
    assert client.get("/orders/coupons", token=token).status == 403
    body = {"code": "FREEBIE", "kind": "percent", "value": "100"}
    assert client.post("/orders/coupons", json=body, token=token).status == 403
    assert count_rows(Coupon) == 0
