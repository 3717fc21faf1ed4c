"""Payments in test mode: cards, the signed webhook, refunds and expiry, through the API."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from paying import DECLINED, NEEDS_AUTHENTICATION, SUCCEEDS, deliver, pay, place, place_and_pay
from shopping import count_rows, new_product, stock_of
from sqlalchemy import select, update
from support import Account, LambdaClient, make_admin, sign_up

from shop.coltypes import utcnow
from shop.db import get_engine, session_scope
from shop.models import Order, OrderStatusChange, PaymentEvent, PaymentRefund, TestModeIntent
from shop.payments.signing import signature_header
from shop.payments.test_mode import test_mode_webhook_secret
from shop.services.payment_expiry import expire_unpaid


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


@pytest.fixture
def shopper(client: LambdaClient) -> Account:
    return sign_up(client)


def order_row(order_id: int) -> Order:
    with session_scope() as session:
        order = session.get(Order, order_id)
        assert order is not None
        session.expunge(order)
        return order


def history(order_id: int) -> list[tuple[str, str]]:
    with session_scope() as session:
        rows = session.execute(
            select(OrderStatusChange.status, OrderStatusChange.actor_kind)
            .where(OrderStatusChange.order_id == order_id)
            .order_by(OrderStatusChange.id)
        )
        return [(status, kind) for status, kind in rows]


def intent_event(order: dict[str, Any], event_type: str, **changes: Any) -> dict[str, Any]:
    """The event the test mode's provider would send for the order's intent."""
    intent = {
        "id": order["payment"]["payment_intent_id"],
        "object": "payment_intent",
        "amount": int(float(order["total"]) * 100 + 0.5),
        "amount_received": int(float(order["total"]) * 100 + 0.5),
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"order_id": str(order["id"])},
        "last_payment_error": None,
        **changes,
    }
    return {
        "id": f"evt_t_{order['id']}_{event_type}_{time.monotonic_ns()}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": intent},
    }


def send(client: LambdaClient, event: dict[str, Any], **sign: Any) -> Any:
    payload = json.dumps(event)
    return deliver(
        client, payload.encode(), signature_header(payload, test_mode_webhook_secret(), **sign)
    )


# --- test cards -----------------------------------------------------------------------------


def test_a_test_card_pays_the_order_through_the_webhook_and_says_test_mode(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="12.50", stock=5)
    order = place(client, shopper, product, 2)
    assert order["payment"]["provider"] == "test_mode" and order["payment"]["test_mode"]
    assert order["payment"]["client_secret"].startswith(order["payment"]["payment_intent_id"])
    assert stock_of(product) == 3  # held while it can be paid

    reply = pay(client, shopper, order["id"], SUCCEEDS)
    assert reply.status == 200, reply.body
    state = reply.json()
    assert (state["status"], state["test_mode"], state["payment_error"]) == ("paid", True, None)
    assert state["client_secret"] is None  # nothing left to pay
    assert history(order["id"]) == [("awaiting_payment", "shopper"), ("paid", "provider")]
    assert order_row(order["id"]).paid_at is not None
    assert count_rows(PaymentEvent, order_id=order["id"], outcome="applied") == 1
    assert stock_of(product) == 3
    again = pay(client, shopper, order["id"], SUCCEEDS)
    assert again.status == 409 and "nothing to pay" in again.json()["detail"]


def test_a_declined_card_says_why_and_another_card_can_still_pay(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    declined = pay(client, shopper, order["id"], DECLINED)
    assert declined.status == 200, declined.body
    assert declined.json()["status"] == "payment_failed"
    assert declined.json()["payment_error"] == "Your card was declined."
    assert declined.json()["client_secret"]  # the page may try again
    shown = client.get(f"/orders/{order['id']}", token=shopper.access_token).json()
    assert (shown["status"], shown["payment_error"]) == (
        "payment_failed",
        "Your card was declined.",
    )
    assert pay(client, shopper, order["id"], DECLINED).json()["status"] == "payment_failed"
    paid = pay(client, shopper, order["id"], "4242-4242-4242-4242")
    assert paid.json()["status"] == "paid"
    assert history(order["id"]) == [
        ("awaiting_payment", "shopper"),
        ("payment_failed", "provider"),
        ("paid", "provider"),
    ]


def test_a_card_that_needs_the_banks_check_waits_for_the_shoppers_answer(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    path = f"/payments/orders/{order['id']}/test-authentication"
    asked = pay(client, shopper, order["id"], NEEDS_AUTHENTICATION).json()
    assert (asked["status"], asked["intent_status"]) == ("awaiting_payment", "requires_action")
    failed = client.post(path, json={"approve": False}, token=shopper.access_token)
    assert failed.json()["status"] == "payment_failed"
    assert "unable to authenticate" in failed.json()["payment_error"]
    assert client.post(path, json={"approve": True}, token=shopper.access_token).status == 409
    pay(client, shopper, order["id"], NEEDS_AUTHENTICATION)
    approved = client.post(path, json={"approve": True}, token=shopper.access_token)
    assert approved.status == 200 and approved.json()["status"] == "paid"


@pytest.mark.parametrize(
    ("card", "words"),
    [("1234", "not a card number"), ("4111 1111 1111 1111", "test cards"), ("4242x", "not a card")],
)
def test_numbers_that_are_not_test_cards_are_422_and_change_nothing(
    client: LambdaClient, admin: Account, shopper: Account, card: str, words: str
) -> None:
    order = place(client, shopper, new_product(client, admin))
    reply = pay(client, shopper, order["id"], card)
    assert reply.status == 422 and reply.is_problem
    assert words in reply.json()["detail"]
    assert order_row(order["id"]).status == "awaiting_payment"
    assert count_rows(PaymentEvent) == 0


def test_only_the_owner_pays_and_reads_the_client_secret(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    stranger = sign_up(client)
    assert pay(client, stranger, order["id"]).status == 404
    assert client.get(f"/payments/orders/{order['id']}", token=stranger.access_token).status == 404
    as_admin = client.get(f"/payments/orders/{order['id']}", token=admin.access_token).json()
    assert as_admin["client_secret"] is None and as_admin["status"] == "awaiting_payment"
    mine = client.get(f"/payments/orders/{order['id']}", token=shopper.access_token).json()
    assert mine["client_secret"] == order["payment"]["client_secret"]
    assert client.get("/payments/orders/1").status == 401


def test_config_says_test_mode_and_lists_the_test_cards(client: LambdaClient) -> None:
    config = client.get("/payments/config").json()
    assert (config["provider"], config["test_mode"], config["publishable_key"]) == (
        "test_mode",
        True,
        None,
    )
    assert [card["number"] for card in config["test_cards"]] == [
        "4242424242424242",
        "4000000000000002",
        "4000002500003155",
    ]
    assert config["hold_minutes"] == 30


# --- the webhook ----------------------------------------------------------------------------


def test_forged_missing_stale_or_malformed_signatures_are_400_and_change_nothing(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    event = intent_event(order, "payment_intent.succeeded")
    payload = json.dumps(event)
    secret = test_mode_webhook_secret()
    attempts = [
        (payload.encode(), None),
        (payload.encode(), signature_header(payload, "whsec_someone_else")),
        (payload.encode(), signature_header(payload, secret, timestamp=int(time.time()) - 3600)),
        (payload.encode(), "v1=deadbeef"),
        (payload.encode(), "t=notanumber,v1=00"),
        (
            payload.replace('"succeeded"', '"processing"', 1).encode(),
            signature_header(payload, secret),
        ),
        (b"\xff\xfe not json", signature_header("\xff\xfe not json", secret)),
        (b"[1, 2]", signature_header("[1, 2]", secret)),
    ]
    for body, signature in attempts:
        reply = deliver(client, body, signature)
        assert reply.status == 400, (signature, reply.body)
        assert reply.is_problem
    assert order_row(order["id"]).status == "awaiting_payment"
    assert count_rows(PaymentEvent) == 0
    assert send(client, event).status == 200  # the genuine one still works
    assert order_row(order["id"]).status == "paid"


def test_a_replayed_event_changes_nothing_the_second_time(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    event = intent_event(order, "payment_intent.succeeded")
    first = send(client, event).json()
    assert (first["outcome"], first["duplicate"]) == ("applied", False)
    second = send(client, event).json()
    assert (second["outcome"], second["duplicate"]) == ("unchanged", True)
    assert history(order["id"]) == [("awaiting_payment", "shopper"), ("paid", "provider")]
    assert count_rows(PaymentEvent) == 1


def test_events_out_of_order_end_paid_with_one_change_each(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    late_failure = intent_event(
        order,
        "payment_intent.payment_failed",
        status="requires_payment_method",
        amount_received=0,
        last_payment_error={"message": "Your card was declined."},
    )
    outcomes = [
        send(client, intent_event(order, "payment_intent.succeeded")).json()["outcome"],
        send(client, intent_event(order, "payment_intent.processing", status="processing")).json()[
            "outcome"
        ],
        send(client, late_failure).json()["outcome"],
    ]
    assert outcomes == ["applied", "unchanged", "unchanged"]
    assert history(order["id"]) == [("awaiting_payment", "shopper"), ("paid", "provider")]
    shown = client.get(f"/orders/{order['id']}", token=shopper.access_token).json()
    assert (shown["status"], shown["payment_error"]) == ("paid", None)


def test_a_payment_of_the_wrong_amount_is_refused_and_shown_to_admins(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin, price="20.00"))
    reply = send(client, intent_event(order, "payment_intent.succeeded", amount_received=1))
    assert reply.json()["outcome"] == "refused"
    wrong_currency = intent_event(order, "payment_intent.succeeded", currency="eur")
    assert send(client, wrong_currency).json()["outcome"] == "refused"
    assert order_row(order["id"]).status == "awaiting_payment"
    issues = client.get("/payments/issues", token=admin.access_token).json()
    assert [item["id"] for item in issues["items"]] == [order["id"]]
    assert "not marked paid" in issues["items"][0]["payment_issue"]
    assert client.get("/payments/issues", token=shopper.access_token).status == 403
    mine = client.get(f"/payments/orders/{order['id']}", token=shopper.access_token).json()
    assert mine["payment_issue"] is None  # for admins only


def test_events_for_no_order_of_ours_are_ignored(client: LambdaClient) -> None:
    event = {
        "id": "evt_other",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_x", "metadata": {"order_id": "999999"}, "amount": 100}},
    }
    assert send(client, event).json()["outcome"] == "ignored"
    other = {**event, "id": "evt_customer", "type": "customer.created", "data": {"object": {}}}
    assert send(client, other).json()["outcome"] == "ignored"


# --- refunds --------------------------------------------------------------------------------


def refund(
    client: LambdaClient, admin: Account, order_id: int, key: str | None, **body: Any
) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(
        f"/payments/orders/{order_id}/refunds", json=body, token=admin.access_token, headers=headers
    )


def test_an_admin_refunds_part_then_the_rest_once_per_key(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="10.00", stock=5)
    order = place_and_pay(client, shopper, [(product, 2)])
    first = refund(client, admin, order["id"], "r-1", amount="3.50", reason="chipped")
    assert first.status == 201, first.body
    assert (first.json()["order_status"], first.json()["refunded_total"]) == (
        "partially_refunded",
        "3.50",
    )
    assert first.json()["refund"]["provider_refund_id"].startswith("re_test_")
    replay = refund(client, admin, order["id"], "r-1", amount="3.50")
    assert replay.status == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["refund"]["id"] == first.json()["refund"]["id"]
    assert refund(client, admin, order["id"], "r-1", amount="1.00").status == 422
    too_much = refund(client, admin, order["id"], "r-2", amount="16.51")
    assert too_much.status == 422 and "16.50" in too_much.json()["detail"]
    assert refund(client, admin, order["id"], None, amount="1.00").status == 400
    assert refund(client, shopper, order["id"], "r-3", amount="1.00").status == 403
    assert stock_of(product) == 3
    rest = refund(client, admin, order["id"], "r-4")
    assert rest.status == 201
    assert (rest.json()["order_status"], rest.json()["refunded_total"]) == ("refunded", "20.00")
    assert stock_of(product) == 5  # it had not shipped
    assert refund(client, admin, order["id"], "r-5", amount="1.00").status == 409
    state = client.get(f"/payments/orders/{order['id']}", token=shopper.access_token).json()
    assert [r["amount"] for r in state["refunds"]] == ["3.50", "16.50"]
    assert history(order["id"])[-2:] == [("partially_refunded", "admin"), ("refunded", "admin")]


def test_unpaid_orders_cannot_be_refunded(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    reply = refund(client, admin, order["id"], "r-1", amount="1.00")
    assert reply.status == 409 and "awaiting_payment" in reply.json()["detail"]
    assert refund(client, admin, 999999, "r-1").status == 404
    assert count_rows(PaymentRefund) == 0


def test_a_shopper_cancelling_a_paid_order_gets_it_all_back_once(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, price="7.00", stock=3)
    order = place_and_pay(client, shopper, [(product, 2)])
    reply = client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token)
    assert reply.status == 200, reply.body
    assert (reply.json()["status"], reply.json()["refunded_total"]) == ("refunded", "14.00")
    assert stock_of(product) == 3
    assert client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token).status == 409
    assert stock_of(product) == 3
    assert count_rows(PaymentRefund, order_id=order["id"]) == 1


def test_cancelling_an_unpaid_order_cancels_its_payment(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    order = place(client, shopper, new_product(client, admin))
    assert client.post(f"/orders/{order['id']}/cancel", token=shopper.access_token).status == 200
    with session_scope() as session:
        intent = session.get(TestModeIntent, order["payment"]["payment_intent_id"])
        assert intent is not None and intent.status == "canceled"
    assert pay(client, shopper, order["id"]).status == 409


# --- expiry ---------------------------------------------------------------------------------


def past_hold(*order_ids: int) -> None:
    with session_scope() as session:
        session.execute(
            update(Order)
            .where(Order.id.in_(order_ids))
            .values(hold_until=utcnow() - timedelta(minutes=1))
        )


def test_unpaid_orders_past_their_hold_expire_and_give_their_stock_back(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=10)
    late = place(client, shopper, product, 2)
    declined = place(client, shopper, product, 1)
    pay(client, shopper, declined["id"], DECLINED)
    fresh = place(client, shopper, product, 3)
    paid = place_and_pay(client, shopper, [(product, 1)])
    past_hold(late["id"], declined["id"], paid["id"])
    assert stock_of(product) == 3

    report = expire_unpaid(get_engine(), batch_size=1)

    assert (report.expired, report.paying, report.retry) == (2, 0, 0)
    assert stock_of(product) == 6
    statuses = {o["id"]: order_row(o["id"]).status for o in (late, declined, fresh, paid)}
    assert statuses == {
        late["id"]: "expired",
        declined["id"]: "expired",
        fresh["id"]: "awaiting_payment",
        paid["id"]: "paid",
    }
    assert history(late["id"])[-1] == ("expired", "system")
    reply = pay(client, shopper, late["id"])
    assert reply.status == 409 and "nothing to pay" in reply.json()["detail"]
    assert expire_unpaid(get_engine()).expired == 0  # nothing twice


def test_a_payment_that_arrives_after_expiry_is_refunded_automatically(
    client: LambdaClient, admin: Account, shopper: Account
) -> None:
    product = new_product(client, admin, stock=4)
    order = place(client, shopper, product, 2)
    past_hold(order["id"])
    expire_unpaid(get_engine())
    with session_scope() as session:  # the provider took the money all the same
        session.execute(
            update(TestModeIntent)
            .where(TestModeIntent.id == order["payment"]["payment_intent_id"])
            .values(status="succeeded")
        )
    reply = send(client, intent_event(order, "payment_intent.succeeded"))
    assert reply.json()["outcome"] == "refunded", reply.body
    row = order_row(order["id"])
    assert (row.status, row.refunded_total) == ("refunded", row.total)
    assert "refunded in full" in (row.payment_issue or "")
    assert history(order["id"])[-2:] == [("expired", "system"), ("refunded", "system")]
    assert count_rows(PaymentRefund, order_id=order["id"]) == 1
    assert stock_of(product) == 4  # given back once, at expiry
    assert send(client, intent_event(order, "payment_intent.succeeded")).json()["outcome"] == (
        "unchanged"
    )


def test_a_test_mode_intent_made_by_a_racing_request_is_read_back(db: str) -> None:
    """Two requests with one key: the loser reads the winner's intent, even in its snapshot."""
    from shop.db import new_session
    from shop.payments.test_mode import TestModeProvider

    key = "shopfn-race-intent"
    with new_session() as loser, new_session() as winner:
        loser_side = TestModeProvider(loser)
        assert loser_side._by_key(key) is None  # MariaDB's snapshot starts here, before...
        made = TestModeProvider(winner).create_intent(
            amount=500, currency="usd", metadata={}, idempotency_key=key
        )
        winner.commit()  # ...the winner's intent is committed
        read_back = loser_side.create_intent(
            amount=500, currency="usd", metadata={}, idempotency_key=key
        )
        loser.commit()
    assert read_back.id == made.id and read_back.client_secret == made.client_secret
    assert count_rows(TestModeIntent) == 1
