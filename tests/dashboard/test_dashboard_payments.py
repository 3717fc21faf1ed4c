"""Paying in the dashboard, run by AppTest against the real APIs in test mode (no Stripe key):
the checkout's card form, declines and the bank's check, My orders' payment words and Pay now,
the admin's refunds and payment issues; and, against a shop set up for Stripe (the fake
Stripe server), the checkout's Payment Element in place of the card form."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dashboard_platform import ADMIN_EMAIL, ADMIN_PASSWORD, APP, Platform
from markdown_check import visible
from streamlit.testing.v1 import AppTest
from test_dashboard_admin import SUCCEEDS, paid_order, place_order
from test_dashboard_storefront import assert_clean, click, fill_shipping, product_id, shown

from shop.payments.signing import signature_header

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess

AppFactory = Callable[..., AppTest]
DECLINED = "4000 0000 0000 0002"
NEEDS_AUTHENTICATION = "4000 0025 0000 3155"
DECLINE_SENTENCE = (
    "Your card was declined. Nothing was taken from your card. Try another card, or ask your "
    "bank why it refused the payment."
)


def pay(app: AppTest, number: str, expiry: str = "12/34", cvc: str = "123") -> AppTest:
    app.text_input(key="card_no").input(number)
    app.text_input(key="card_expiry").input(expiry)
    app.text_input(key="card_cvc").input(cvc)
    submit = next(b for b in app.button if b.label.startswith("Pay $"))
    submit.click()
    return app.run()


def errors(app: AppTest) -> list[str]:
    return [visible(e.value) for e in app.error]


def order_state(platform: Platform, state: dict[str, Any], order_id: int) -> dict[str, Any]:
    return platform.get(f"/payments/orders/{order_id}", state).json()


def checkout(make_app: AppFactory, platform: Platform, state: dict[str, Any]) -> AppTest:
    """A shopper's checkout page right after placing an order for one skillet."""
    pid = product_id(platform, "skillet")
    assert platform.post("/cart/items", state, {"product_id": pid, "quantity": 1}).is_success
    app = make_app(state, page="pages/checkout.py")
    fill_shipping(app)
    click(app, "Place order")
    assert_clean(app)
    return app


def test_checkout_is_a_test_mode_card_form_that_says_what_to_do_after_a_decline(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    app = checkout(make_app, platform, shopper_state)
    order_id = platform.get("/orders", shopper_state).json()["items"][0]["id"]
    text = shown(app)
    assert f"Order #{order_id} is placed ($39.90) and waits for your payment." in text
    assert "Test mode: no money moves." in text
    for number in (SUCCEEDS, DECLINED, NEEDS_AUTHENTICATION):
        assert number in text
    assert not app.get("iframe")  # no Stripe.js without a Stripe key

    pay(app, DECLINED)
    assert_clean(app)
    assert errors(app) == [DECLINE_SENTENCE]
    assert order_state(platform, shopper_state, order_id)["status"] == "payment_failed"

    pay(app, SUCCEEDS)
    assert_clean(app)
    assert f"Thank you! Order #{order_id} is paid ($39.90)." in shown(app)
    assert order_state(platform, shopper_state, order_id)["status"] == "paid"

    app.switch_page("pages/orders.py")
    app.run()
    assert_clean(app)
    assert app.expander[0].label.startswith(f"Order #{order_id} · Paid · $39.90")
    history = [visible(m.value) for m in app.markdown if m.value.startswith("- ")]
    assert [h.split(" on ")[0] for h in history] == ["Awaiting payment", "Payment failed", "Paid"]
    assert history[0].endswith(", by you") and history[2].endswith(", by the payment provider")


def test_card_form_checks_the_expiry_and_cvc_before_sending(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    app = checkout(make_app, platform, shopper_state)
    order_id = platform.get("/orders", shopper_state).json()["items"][0]["id"]
    pay(app, SUCCEEDS, expiry="01/20", cvc="12")
    assert errors(app) == [
        "That expiry date has passed: enter a date in the future. "
        "Enter the 3 digits on the back of the card (the CVC)."
    ]
    pay(app, "4111 1111 1111 1111")  # a real card's number: never sent anywhere
    assert errors(app) == [
        "This shop is in test mode and takes only the test cards listed above; never enter a "
        "real card here."
    ]
    payment = order_state(platform, shopper_state, order_id)
    assert (payment["status"], payment["payment_error"]) == ("awaiting_payment", None)
    click(app, "Pay later")  # the order waits in My orders; checkout is free for a new cart
    assert "paying_order_id" not in app.session_state


def test_a_card_that_asks_for_the_banks_check_is_paid_after_authenticate(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    app = checkout(make_app, platform, shopper_state)
    order_id = platform.get("/orders", shopper_state).json()["items"][0]["id"]
    pay(app, NEEDS_AUTHENTICATION)
    assert_clean(app)
    assert "Your bank asks you to confirm this payment." in shown(app)
    assert order_state(platform, shopper_state, order_id)["intent_status"] == "requires_action"
    click(app, "Authenticate")
    assert_clean(app)
    assert f"Thank you! Order #{order_id} is paid ($39.90)." in shown(app)


def test_pay_now_in_my_orders_pays_an_order_placed_earlier(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    order = place_order(platform, shopper_state, "power bank")
    app = make_app(shopper_state, page="pages/orders.py")
    assert_clean(app)
    assert app.expander[0].label.startswith(f"Order #{order['id']} · Awaiting payment")
    assert "after that the order is cancelled" in shown(app)
    click(app, "Pay now")
    assert_clean(app)
    assert "Test mode: no money moves." in shown(app)
    app.switch_page("pages/checkout.py")  # AppTest forgets an in-script switch on the next run
    pay(app, SUCCEEDS)
    assert f"Thank you! Order #{order['id']} is paid" in shown(app)

    app.switch_page("pages/orders.py")
    app.run()
    click(app, "Cancel and refund")
    assert_clean(app)
    payment = order_state(platform, shopper_state, order["id"])
    assert (payment["status"], payment["refunded_total"]) == ("refunded", order["total"])
    assert app.expander[0].label.startswith(f"Order #{order['id']} · Refunded")
    assert f"Refunded to your card: ${order['total']}" in shown(app)


def test_admin_refunds_part_then_the_rest_and_cannot_mark_paid(
    make_app: AppFactory,
    platform: Platform,
    shopper_state: dict[str, Any],
    admin_state: dict[str, Any],
) -> None:
    order = paid_order(platform, shopper_state, "speaker")
    unpaid = place_order(platform, shopper_state, "yoga")
    app = make_app(admin_state, page="pages/admin_orders.py")
    assert_clean(app)
    table = app.dataframe[0].value
    assert table.loc[table["Order"] == order["id"], "Status"].iloc[0] == "Paid"
    assert table.loc[table["Order"] == unpaid["id"], "Status"].iloc[0] == "Awaiting payment"
    picker = app.selectbox(key="adm_move_pick")
    picker.select(next(o for o in picker.options if o.startswith(f"#{unpaid['id']} "))).run()
    assert app.selectbox(key=f"adm_move_to_{unpaid['id']}").options == ["Cancelled"]  # not Paid

    label = next(
        o for o in app.selectbox(key="adm_refund_pick").options if o.startswith(f"#{order['id']} ")
    )
    app.selectbox(key="adm_refund_pick").select(label).run()
    app.text_input(key="adm_refund_amt").input("99999").run()
    click(app, "Refund this amount")
    assert errors(app) == [f"Only ${order['total']} is left to refund: enter that much or less."]
    app.text_input(key="adm_refund_amt").input("10.00")
    app.text_input(key="adm_refund_reason").input("arrived scratched").run()
    click(app, "Refund this amount")
    assert_clean(app)
    assert f"Refunded $10.00 of order #{order['id']}: it is now partly refunded" in shown(app)
    payment = order_state(platform, admin_state, order["id"])
    assert (payment["status"], payment["refunded_total"]) == ("partially_refunded", "10.00")
    assert payment["refunds"][0]["reason"] == "arrived scratched"

    label = next(
        o for o in app.selectbox(key="adm_refund_pick").options if o.startswith(f"#{order['id']} ")
    )
    app.selectbox(key="adm_refund_pick").select(label).run()
    click(app, next(b.label for b in app.button if b.label.startswith("Refund all that is left")))
    assert_clean(app)
    assert "it is now refunded" in shown(app)
    payment = order_state(platform, admin_state, order["id"])
    assert (payment["status"], payment["refunded_total"]) == ("refunded", order["total"])


def test_admin_sees_a_payment_whose_amount_did_not_match(
    make_app: AppFactory,
    platform: Platform,
    shopper_state: dict[str, Any],
    admin_state: dict[str, Any],
) -> None:
    order = place_order(platform, shopper_state, "sweater")
    intent = order["payment"]
    event = {
        "id": f"evt_dash_{order['id']}",
        "object": "event",
        "created": int(time.time()),
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": intent["payment_intent_id"],
                "object": "payment_intent",
                "amount": 100,  # one dollar, not the order's total
                "amount_received": 100,
                "currency": intent["currency"].lower(),
                "status": "succeeded",
                "metadata": {"order_id": str(order["id"])},
            }
        },
    }
    payload = json.dumps(event)
    secret = (platform.data_dir / "test_mode_webhook_secret").read_text().strip()
    sent = httpx.post(
        f"{platform.commerce_url}/payments/webhook",
        content=payload,
        headers={"Stripe-Signature": signature_header(payload, secret)},
    )
    assert sent.json()["outcome"] == "refused", sent.text

    app = make_app(admin_state, page="pages/admin_orders.py")
    assert_clean(app)
    issues = next(d.value for d in app.dataframe if "What happened" in d.value.columns)
    row = issues.loc[issues["Order"] == order["id"]].iloc[0]
    assert row["Status"] == "Awaiting payment"
    assert row["What happened"]  # the shop's own sentence for the admin
    assert "Unpaid orders: " in shown(app)


@pytest.fixture(scope="module")
def stripe_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Any]]:
    """A second `shopfn serve` set up for Stripe, its API the fake Stripe server."""
    from fake_stripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, FakeStripe
    from servers import ServeProcess, running_serve, serve_environment

    fake = FakeStripe().start()
    data_dir = tmp_path_factory.mktemp("dashboard-stripe")
    env = serve_environment(
        data_dir,
        ADMIN_EMAIL=ADMIN_EMAIL,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_API_BASE=fake.api_base,
        STRIPE_MAX_RETRIES="0",
    )
    try:
        with running_serve(ServeProcess(data_dir, env)) as served:
            yield Platform(served.commerce, served.ml, data_dir, served.log), fake
    finally:
        fake.stop()


def test_with_a_stripe_key_checkout_shows_stripes_payment_element_and_no_card_form(
    stripe_shop: tuple[Platform, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_stripe import PUBLISHABLE_KEY, signed

    from shopui.payment_forms import STRIPE_JS

    shop, fake = stripe_shop
    monkeypatch.setenv("COMMERCE_API_URL", shop.commerce_url)
    monkeypatch.setenv("ML_API_URL", shop.ml_url)
    shopper = shop.sign_up("stripe-shopper@example.com")
    pid = product_id(shop, "skillet")
    assert shop.post("/cart/items", shopper, {"product_id": pid, "quantity": 1}).is_success
    app = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in shopper.items():
        app.session_state[key] = value
    app.run()
    app.switch_page("pages/checkout.py")
    app.run()
    fill_shipping(app)
    click(app, "Place order")
    assert_clean(app)
    ((intent_id, intent),) = fake.intents.items()
    frames = app.get("iframe")
    assert len(frames) == 1
    element = frames[0].proto.srcdoc
    assert STRIPE_JS in element and PUBLISHABLE_KEY in element
    assert intent["client_secret"] in element
    assert "Test mode" not in shown(app) and not app.text_input  # no card form of our own

    fake.succeed(intent_id)  # what Stripe.js and the shopper's bank did
    body, signature = signed(fake.event(intent_id, "payment_intent.succeeded"))
    delivered = httpx.post(
        f"{shop.commerce_url}/payments/webhook",
        content=body,
        headers={"Stripe-Signature": signature, "content-type": "application/json"},
    )
    assert delivered.json()["outcome"] == "applied", delivered.text
    click(app, "Check payment")
    assert_clean(app)
    assert "is paid ($39.90)" in shown(app)
