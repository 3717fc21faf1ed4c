"""The storefront's recommendation strips, run by AppTest against the real APIs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dashboard_platform import Platform
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess

AppFactory = Callable[..., AppTest]


def subheaders(app: AppTest) -> list[str]:
    return [str(s.value) for s in app.subheader]


def impact(platform: Platform, admin_state: dict[str, Any]) -> dict[str, Any]:
    reply = httpx.get(
        f"{platform.ml_url}/ml/recommendations/impact",
        headers={"Authorization": f"Bearer {admin_state['access_token']}"},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def first_product(platform: Platform, query: str) -> int:
    page = httpx.get(f"{platform.commerce_url}/products", params={"q": query}).json()
    return int(page["items"][0]["id"])


def test_a_product_opened_and_added_from_often_bought_together_is_counted(
    make_app: AppFactory,
    platform: Platform,
    shopper_state: dict[str, Any],
    admin_state: dict[str, Any],
) -> None:
    before = impact(platform, admin_state)
    pid = first_product(platform, "skillet")
    app = make_app({**shopper_state, "product_id": pid}, page="pages/product.py")
    assert not app.exception, [e.message for e in app.exception]
    assert "Often bought together" in subheaders(app)
    view = next(b for b in app.button if b.key and b.key.startswith("pd_together_view_"))
    other = int(view.key.rsplit("_", 1)[1])
    assert other != pid
    view.click().run()
    assert app.session_state["product_id"] == other
    app.switch_page("pages/product.py")  # AppTest forgets an in-script switch on the next run
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    next(b for b in app.button if b.label == "Add to cart").click().run()
    after = impact(platform, admin_state)
    assert after["product_views"] >= before["product_views"] + 1
    assert after["cart_adds"] == before["cart_adds"] + 1


def test_the_cart_offers_what_goes_with_it(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    pid = first_product(platform, "tent")
    assert platform.post("/cart/items", shopper_state, {"product_id": pid}).status_code == 201
    app = make_app(shopper_state, page="pages/cart.py")
    assert not app.exception, [e.message for e in app.exception]
    assert "Often bought together" in subheaders(app)
    keys = [b.key for b in app.button if b.key and b.key.startswith("cart_together_view_")]
    assert keys and f"cart_together_view_{pid}" not in keys


def test_the_shop_page_picks_for_a_signed_in_customer_and_not_for_a_guest(
    make_app: AppFactory, shopper_state: dict[str, Any]
) -> None:
    guest = make_app()
    assert "Picked for you" not in subheaders(guest)
    app = make_app(shopper_state)
    assert not app.exception, [e.message for e in app.exception]
    assert "Picked for you" in subheaders(app)
    assert "Buy it again" not in subheaders(app)  # nothing bought yet
