"""Coupons and offers in the dashboard: the banner, the saving in the cart and at checkout,
the account's offer switch, the admin's coupons page and the ML page's campaigns."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dashboard_platform import Platform
from streamlit.testing.v1 import AppTest
from test_dashboard_storefront import assert_clean, click, fill_shipping, product_id, shown

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess

AppFactory = Callable[..., AppTest]


def auth(state: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {state['access_token']}"}


def new_code(platform: Platform, admin: dict[str, Any], **fields: Any) -> str:
    body = {"code": f"T{uuid.uuid4().hex[:8]}", "kind": "percent", "value": "10", **fields}
    reply = httpx.post(f"{platform.commerce_url}/orders/coupons", json=body, headers=auth(admin))
    assert reply.status_code == 201, reply.text
    return str(reply.json()["code"])


def test_a_personal_code_shows_in_the_banner_saves_in_the_cart_and_at_checkout(
    make_app: AppFactory,
    platform: Platform,
    shopper_state: dict[str, Any],
    admin_state: dict[str, Any],
) -> None:
    code = new_code(
        platform,
        admin_state,
        user_id=shopper_state["user"]["id"],
        description="10% off your next order",
    )
    app = make_app(shopper_state)
    assert_clean(app)
    assert f"Just for you: 10% off your next order. Use the code {code} in your cart." in shown(app)

    pid = product_id(platform, "skillet")
    assert platform.post("/cart/items", shopper_state, {"product_id": pid, "quantity": 1})
    app.switch_page("pages/cart.py")
    app.run()
    app.text_input(key="cart_coupon").input("NOPE-123").run()
    assert_clean(app)
    assert "There is no coupon with the code NOPE-123." in shown(app)
    app.text_input(key="cart_coupon").input(code.lower()).run()
    assert_clean(app)
    assert "you save $3.99" in shown(app) and "Total: $35.91" in shown(app)

    app.switch_page("pages/checkout.py")
    app.run()
    assert "Total: $35.91" in shown(app)
    fill_shipping(app)
    click(app, "Place order")
    assert_clean(app)
    assert "is placed ($35.91)" in shown(app)
    order = platform.get("/orders", shopper_state).json()["items"][0]
    assert (order["discount"], order["total"]) == ("3.99", "35.91")
    assert platform.get("/users/me/offers", shopper_state).json() == []


def test_the_account_switch_turns_offers_off_and_on(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    app = make_app(shopper_state, page="pages/account.py")
    assert app.toggle(key="account_offers").value is True
    app.toggle(key="account_offers").set_value(False).run()
    assert_clean(app)
    assert "no more offers" in shown(app)
    assert platform.get("/users/me", shopper_state).json()["marketing_opt_out"] is True
    app.toggle(key="account_offers").set_value(True).run()
    assert platform.get("/users/me", shopper_state).json()["marketing_opt_out"] is False


def test_admin_creates_a_coupon_and_sees_its_uses(
    make_app: AppFactory, platform: Platform, admin_state: dict[str, Any]
) -> None:
    app = make_app(admin_state, page="pages/admin_coupons.py")
    assert_clean(app)
    code = f"ADM{uuid.uuid4().hex[:6]}".upper()
    app.text_input[1].input(code)  # the code field (the first is the prefix filter)
    app.text_input[2].input("5")
    click(app, "Create coupon")
    assert_clean(app)
    assert f"Coupon {code} is ready: 5% off." in shown(app)
    listed = httpx.get(
        f"{platform.commerce_url}/orders/coupons", params={"code": code}, headers=auth(admin_state)
    ).json()
    assert listed["items"][0]["value"] == "5.00"


def test_the_ml_page_shows_a_campaign_in_plain_words(
    make_app: AppFactory, platform: Platform, admin_state: dict[str, Any]
) -> None:
    body = {
        "name": "Dash win back",
        "churn_threshold": 0.6,
        "offer_kind": "percent",
        "offer_value": "10",
    }
    made = httpx.post(f"{platform.ml_url}/ml/campaigns", json=body, headers=auth(admin_state))
    assert made.status_code == 201, made.text
    app = make_app(admin_state, page="pages/admin_ml.py")
    assert_clean(app)
    assert "Offers for customers at risk" in shown(app)
    assert any("Dash win back: 10% off, running" in e.label for e in app.expander)
    assert "No customers in both groups yet: nothing to compare." in shown(app)
