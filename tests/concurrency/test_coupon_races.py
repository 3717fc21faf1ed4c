"""Coupons under real concurrency: a limited code is never used more often than it may be."""

from __future__ import annotations

from shopping import add_to_cart, bulk_products, checkout, count_rows, new_coupon
from support import LambdaClient, Reply, make_admin, sign_up
from test_checkout_races import run_together, statuses

from shop.db import session_scope
from shop.models import Coupon, CouponRedemption, Order


def test_twelve_checkouts_racing_for_three_uses_of_a_code_get_exactly_three(
    one_connection_per_thread: LambdaClient,
) -> None:
    shop = one_connection_per_thread
    (product,) = bulk_products(1, stock=100, price="20.00")
    coupon = new_coupon(
        shop, make_admin(shop), kind="amount", value="5", max_redemptions=3, per_customer_limit=None
    )
    buyers = [sign_up(shop) for _ in range(12)]
    for buyer in buyers:
        assert add_to_cart(shop, buyer, product, 1).status == 201
    replies = run_together(
        [lambda b=b: checkout(LambdaClient(), b, coupon=coupon["code"]) for b in buyers]
    )
    assert statuses(replies) == {201: 3, 422: 9}, [r.body for r in replies]
    assert {r.json()["reason"] for r in replies if r.status == 422} == {"limit_reached"}
    assert {r.json()["total"] for r in replies if r.status == 201} == {"15.00"}
    assert count_rows(Order) == 3
    assert count_rows(CouponRedemption, coupon_id=coupon["id"]) == 3
    with session_scope() as session:
        used = session.get(Coupon, coupon["id"])
        assert used is not None and used.redemption_count == 3


def test_one_customer_racing_two_checkouts_uses_a_once_only_code_once(
    one_connection_per_thread: LambdaClient,
) -> None:
    shop = one_connection_per_thread
    products = bulk_products(6, stock=10, price="10.00")
    coupon = new_coupon(shop, make_admin(shop))  # once per customer
    buyer = sign_up(shop)

    def fill_and_checkout(product: int) -> Reply:
        client = LambdaClient()
        add_to_cart(client, buyer, product, 1)
        return checkout(client, buyer, coupon=coupon["code"])

    replies = run_together([lambda p=p: fill_and_checkout(p) for p in products])
    counts = statuses(replies)
    # Every checkout carries the code: one wins it; the rest find it used (or the cart empty).
    assert counts[201] == 1 and set(counts) <= {201, 409, 422}, [r.body for r in replies]
    assert {r.json()["reason"] for r in replies if r.status == 422} <= {"already_used"}
    assert count_rows(CouponRedemption, coupon_id=coupon["id"]) == 1
    assert count_rows(Order) == 1
