"""Payments under real concurrency: expiry racing payments, and one event delivered at once
many times. Every thread holds its own connection; PostgreSQL (directly and behind
PgBouncer) and MariaDB settle the races with row locks, SQLite by serializing writers.
"""

from __future__ import annotations

import json
import time

import pytest
from paying import SUCCEEDS, deliver, pay
from shopping import add_to_cart, bulk_products, checkout, count_rows, stock_of
from sqlalchemy import select, update
from support import LambdaClient, Reply, sign_up
from test_checkout_races import run_together, statuses

from shop.coltypes import utcnow
from shop.db import get_engine, session_scope
from shop.models import Order, OrderStatusChange, PaymentEvent, PaymentRefund, TestModeIntent
from shop.payments.signing import signature_header
from shop.payments.test_mode import test_mode_webhook_secret
from shop.services.payment_expiry import ExpiryReport, expire_unpaid


@pytest.fixture
def shop(one_connection_per_thread: LambdaClient) -> LambdaClient:
    return one_connection_per_thread


def test_expiry_racing_payments_ends_each_order_paid_or_expired_never_both(
    shop: LambdaClient,
) -> None:
    (product,) = bulk_products(1, stock=12)
    buyers = [sign_up(shop) for _ in range(12)]
    orders: list[int] = []
    for buyer in buyers:
        assert add_to_cart(shop, buyer, product, 1).status == 201
        placed = checkout(shop, buyer)
        assert placed.status == 201, placed.body
        orders.append(placed.json()["id"])
    with session_scope() as session:  # every hold has just ended
        session.execute(update(Order).values(hold_until=utcnow()))
    assert stock_of(product) == 0

    def expire() -> ExpiryReport:
        return expire_unpaid(get_engine(), batch_size=4)

    payers = [
        lambda b=b, o=o: pay(LambdaClient(), b, o, SUCCEEDS)
        for b, o in zip(buyers, orders, strict=True)
    ]
    report, *replies = run_together([expire, *payers])

    assert isinstance(report, ExpiryReport), report
    counts = statuses(replies)
    assert set(counts) <= {200, 409}, [r.body for r in replies if r.status not in (200, 409)]
    with session_scope() as session:
        final = dict(session.execute(select(Order.id, Order.status)).all())
        intents = dict(
            session.execute(select(TestModeIntent.order_id, TestModeIntent.status)).all()
        )
    paid = {o for o in orders if final[o] == "paid"}
    expired = {o for o in orders if final[o] == "expired"}
    detail = (report.as_dict(), final, intents, [(r.status, r.body[:200]) for r in replies])
    assert paid | expired == set(orders) and not paid & expired, detail
    assert report.expired == len(expired)
    for order_id, reply in zip(orders, replies, strict=True):
        assert isinstance(reply, Reply)
        if order_id in paid:  # the payment won: money taken, stock still held
            assert reply.status == 200 and reply.json()["status"] == "paid"
            assert intents[order_id] == "succeeded"
        else:  # the expiry won: the payment could not go through any more
            assert reply.status == 409, reply.body
            assert intents[order_id] == "canceled"
        assert count_rows(OrderStatusChange, order_id=order_id) == 2
    assert stock_of(product) == len(expired)
    assert count_rows(PaymentRefund) == 0  # no money taken for an order that won't ship
    assert count_rows(PaymentEvent, outcome="applied") == len(paid)


def test_one_event_delivered_ten_times_at_once_is_applied_once(shop: LambdaClient) -> None:
    (product,) = bulk_products(1, stock=1)
    buyer = sign_up(shop)
    add_to_cart(shop, buyer, product, 1)
    order = checkout(shop, buyer).json()
    with session_scope() as session:
        session.execute(
            update(TestModeIntent)
            .where(TestModeIntent.order_id == order["id"])
            .values(status="succeeded")
        )
    event = {
        "id": "evt_concurrent_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": order["payment"]["payment_intent_id"],
                "object": "payment_intent",
                "amount": 100,
                "amount_received": 100,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {"order_id": str(order["id"])},
            }
        },
    }
    payload = json.dumps(event)
    signature = signature_header(payload, test_mode_webhook_secret())
    replies = run_together(
        [lambda: deliver(LambdaClient(), payload.encode(), signature) for _ in range(10)]
    )
    assert statuses(replies) == {200: 10}
    assert sorted(r.json()["duplicate"] for r in replies) == [False] + [True] * 9
    assert count_rows(OrderStatusChange, order_id=order["id"], status="paid") == 1
    assert count_rows(PaymentEvent) == 1
