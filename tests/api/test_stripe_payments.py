"""Payments with Stripe: the real `stripe` SDK against the fake Stripe server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from fake_stripe import PUBLISHABLE_KEY, FakeStripe, signed
from paying import deliver, place, stripe_configured
from shopping import add_to_cart, checkout, count_rows, new_product, stock_of
from support import Account, LambdaClient, make_admin, sign_up

from shop.db import get_engine, session_scope
from shop.models import IdempotencyRecord, Order, PaymentRefund
from shop.services.payment_expiry import expire_unpaid


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


@pytest.fixture
def shopper(client: LambdaClient) -> Account:
    return sign_up(client)


def status_of(order_id: int) -> str:
    with session_scope() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order.status


def paid_at_stripe(client: LambdaClient, fake: FakeStripe, order: dict[str, Any]) -> Any:
    """The shopper pays on Stripe's page; Stripe sends its signed event."""
    intent_id = order["payment"]["payment_intent_id"]
    fake.succeed(intent_id)
    return deliver(client, *signed(fake.event(intent_id, "payment_intent.succeeded")))


def test_checkout_creates_one_payment_intent_for_the_order(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="19.99", stock=5)
    order = place(client, shopper, product, 3)
    payment = order["payment"]
    assert (payment["provider"], payment["test_mode"]) == ("stripe", False)
    assert payment["publishable_key"] == PUBLISHABLE_KEY
    intent = stripe_api.intents[payment["payment_intent_id"]]
    assert (intent["amount"], intent["currency"]) == (5997, "usd")
    assert intent["metadata"]["order_id"] == str(order["id"])
    assert payment["client_secret"] == intent["client_secret"]
    assert len(stripe_api.calls("POST", "/v1/payment_intents")) == 1
    config = client.get("/payments/config").json()
    assert (config["provider"], config["publishable_key"], config["test_cards"]) == (
        "stripe",
        PUBLISHABLE_KEY,
        [],
    )
    card = client.post(
        f"/payments/orders/{order['id']}/test-card",
        json={"card_number": "4242424242424242"},
        token=shopper.access_token,
    )
    assert card.status == 409 and "Test mode is off" in card.json()["detail"]


def test_a_retry_returns_the_same_order_and_the_same_intent(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    add_to_cart(client, shopper, product, 1)
    first = checkout(client, shopper, key="same")
    again = checkout(client, shopper, key="same")
    assert (first.status, again.status) == (201, 200)
    assert again.json()["payment"] == first.json()["payment"]
    assert len(stripe_api.intents) == 1
    assert len(stripe_api.calls("GET", "/v1/payment_intents/")) == 1  # read back, not made again


def test_checkout_after_a_timeout_converges_on_one_intent(
    fake_stripe_server: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    fake_stripe_server.reset()
    with stripe_configured(fake_stripe_server, STRIPE_TIMEOUT_SECONDS="0.3") as fake:
        product = new_product(client, admin, stock=5)
        add_to_cart(client, shopper, product, 2)
        fake.delay_next("/v1/payment_intents", 1.0)  # Stripe makes it, we stop waiting
        lost = checkout(client, shopper, key="slow")
        assert lost.status == 503 and lost.is_problem
        assert lost.json()["retryable"] is True
        order_id = lost.json()["order_id"]
        assert status_of(order_id) == "awaiting_payment" and stock_of(product) == 3
        assert len(fake.intents) == 1  # Stripe did make it

        retry = checkout(client, shopper, key="slow")
        assert retry.status == 200, retry.body
        assert retry.json()["id"] == order_id
        assert list(fake.intents) == [retry.json()["payment"]["payment_intent_id"]]
        keys = {c.get("metadata", {}).get("order_id") for c in fake.calls("POST", "/v1/payment")}
        assert keys == {str(order_id)}
        assert count_rows(Order) == 1 and stock_of(product) == 3
        assert count_rows(IdempotencyRecord) == 1
        assert paid_at_stripe(client, fake, retry.json()).json()["outcome"] == "applied"
        assert status_of(order_id) == "paid"


def test_stripe_being_down_at_checkout_keeps_the_order_for_the_retry(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=5)
    add_to_cart(client, shopper, product, 1)
    stripe_api.fail_next("/v1/payment_intents", 500)
    down = checkout(client, shopper, key="outage")
    assert down.status == 503 and stripe_api.intents == {}
    back = checkout(client, shopper, key="outage")
    assert back.status == 200 and back.json()["payment"]["payment_intent_id"] in stripe_api.intents


def test_an_order_stripe_refuses_to_charge_is_cancelled_with_its_stock_back(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="0.10", stock=5)
    add_to_cart(client, shopper, product, 2)
    reply = checkout(client, shopper, key="tiny")
    assert reply.status == 409 and reply.is_problem
    assert "at least $0.50" in reply.json()["detail"]
    assert status_of(reply.json()["order_id"]) == "cancelled"
    assert stock_of(product) == 5
    again = checkout(client, shopper, key="tiny")
    assert again.status == 200 and again.json()["status"] == "cancelled"
    assert again.json()["payment"] is None


def test_webhooks_signed_by_stripe_pay_and_forgeries_do_not(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    intent_id = order["payment"]["payment_intent_id"]
    stripe_api.succeed(intent_id)
    event = stripe_api.event(intent_id, "payment_intent.succeeded")
    body, _ = signed(event)
    assert deliver(client, *signed(event, secret="whsec_not_ours")).status == 400
    assert deliver(client, body, None).status == 400
    assert status_of(order["id"]) == "awaiting_payment"
    reply = deliver(client, *signed(event))
    assert reply.status == 200 and reply.json()["outcome"] == "applied"
    assert status_of(order["id"]) == "paid"
    assert deliver(client, *signed(event)).json()["duplicate"] is True


def test_refunds_go_through_stripe_with_its_refund_id(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="10.00", stock=5)
    order = place(client, shopper, product, 2)
    paid_at_stripe(client, stripe_api, order)
    part = client.post(
        f"/payments/orders/{order['id']}/refunds",
        json={"amount": "2.50"},
        token=admin.access_token,
        headers={"Idempotency-Key": "part"},
    )
    assert part.status == 201, part.body
    refund_id = part.json()["refund"]["provider_refund_id"]
    assert stripe_api.refunds[refund_id]["amount"] == 250
    cancelled = client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token)
    assert cancelled.json()["status"] == "refunded"
    assert sorted(r["amount"] for r in stripe_api.refunds.values()) == [250, 1750]
    with session_scope() as session:
        ids = {r.provider_refund_id for r in session.query(PaymentRefund)}
    assert ids == set(stripe_api.refunds)
    assert stock_of(product) == 5


def test_a_refund_stripe_cannot_reach_changes_nothing(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin, price="10.00"))
    paid_at_stripe(client, stripe_api, order)
    stripe_api.fail_next("/v1/refunds", 503)
    reply = client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token)
    assert reply.status == 503 and reply.json()["retryable"] is True
    assert status_of(order["id"]) == "paid" and count_rows(PaymentRefund) == 0
    assert client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token).status == 200


def test_expiry_cancels_the_intent_unless_stripe_took_the_payment_first(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from shop.coltypes import utcnow

    product = new_product(client, admin, stock=5)
    unpaid = place(client, shopper, product)
    racing = place(client, shopper, product)
    with session_scope() as session:
        session.execute(update(Order).values(hold_until=utcnow() - timedelta(seconds=1)))
    stripe_api.succeed(racing["payment"]["payment_intent_id"])  # its event is on the way

    report = expire_unpaid(get_engine())

    assert (report.expired, report.paying) == (1, 1)
    assert stripe_api.intents[unpaid["payment"]["payment_intent_id"]]["status"] == "canceled"
    assert (status_of(unpaid["id"]), status_of(racing["id"])) == ("expired", "awaiting_payment")
    intent_id = racing["payment"]["payment_intent_id"]
    deliver(client, *signed(stripe_api.event(intent_id, "payment_intent.succeeded")))
    assert status_of(racing["id"]) == "paid"
    assert stock_of(product) == 4


def test_keys_come_from_secrets_manager_and_a_pending_secret_is_never_test_mode(
    fake_stripe_server: FakeStripe,
    client: LambdaClient,
    admin: Account,
    shopper: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    import boto3
    from fake_stripe import SECRET_KEY, WEBHOOK_SECRET
    from moto import mock_aws
    from paying import reconfigure

    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "STRIPE_API_BASE": fake_stripe_server.api_base,
        "STRIPE_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    fake_stripe_server.reset()
    product = new_product(client, admin, stock=5)
    try:
        with mock_aws():
            secrets = boto3.client("secretsmanager")
            arn = secrets.create_secret(
                Name="shopfn/stripe", SecretString='{"pending": true, "nonce": "x"}'
            )["ARN"]
            monkeypatch.setenv("STRIPE_SECRET_ARN", arn)
            reconfigure()
            assert client.get("/payments/config").json()["test_mode"] is False
            add_to_cart(client, shopper, product, 1)
            pending = checkout(client, shopper, key="k")
            assert pending.status == 503 and "not set up yet" in pending.json()["detail"]

            keys = {"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}
            secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(keys))
            reconfigure()
            ready = checkout(client, shopper, key="k")
            assert ready.status == 200, ready.body
            assert ready.json()["payment"]["provider"] == "stripe"
            assert ready.json()["payment"]["payment_intent_id"] in fake_stripe_server.intents
    finally:
        monkeypatch.undo()
        reconfigure()


def test_expiry_never_holds_an_order_locked_while_stripe_answers(
    stripe_api: FakeStripe, client: LambdaClient, admin: Account, shopper: Account
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from shop.coltypes import utcnow

    product = new_product(client, admin, stock=5)
    unpaid = place(client, shopper, product)
    with session_scope() as session:
        session.execute(update(Order).values(hold_until=utcnow() - timedelta(seconds=1)))
    intent_id = unpaid["payment"]["payment_intent_id"]
    stripe_api.delay_next(f"/v1/payment_intents/{intent_id}/cancel", 0.5)

    report = expire_unpaid(get_engine())

    assert report.expired == 1
    assert stripe_api.intents[intent_id]["status"] == "canceled"
    assert report.longest_lock_ms < 400  # the half second Stripe took is outside the lock
    assert status_of(unpaid["id"]) == "expired" and stock_of(product) == 5
