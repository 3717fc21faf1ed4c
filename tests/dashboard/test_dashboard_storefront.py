"""Storefront pages run by AppTest against the real APIs: sign in, browse, cart, checkout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dashboard_platform import Platform
from markdown_check import visible
from streamlit.testing.v1 import AppTest

from shopui import formatting as fmt

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess

AppFactory = Callable[..., AppTest]


def shown(app: AppTest) -> str:
    """Everything a person reads on the page, as one string (Markdown resolved to its text)."""
    parts: list[str] = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "success",
        "info",
        "warning",
        "error",
    ):
        parts += [visible(str(element.value)) for element in getattr(app, kind)]
    parts += [str(element.value) for element in app.text]
    return "\n".join(parts)


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.message for e in app.exception]
    assert "Something went wrong" not in shown(app)


def card_names(app: AppTest) -> list[str]:
    return [visible(m.value) for m in app.markdown if m.value.startswith("**")]


def prices(app: AppTest) -> list[float]:
    """The prices on the catalog cards, as numbers."""
    captions = [visible(c.value) for c in app.caption]
    return [float(c.split("$")[1].split(" ")[0].replace(",", "")) for c in captions if "$" in c]


def click(app: AppTest, label: str) -> AppTest:
    next(b for b in app.button if b.label == label).click()
    return app.run()


def has_api(platform: Platform, prefix: str) -> bool:
    return httpx.get(f"{platform.commerce_url}/{prefix}/health").status_code == 200


def test_guest_sees_catalog_with_pictures_and_pages(make_app: AppFactory) -> None:
    app = make_app()
    assert_clean(app)
    assert app.title[0].value == "Shop"
    assert "page 1 of 2" in shown(app)
    assert len(card_names(app)) == 12
    assert len(app.get("image")) == 12  # a locally drawn picture per card, no internet needed
    assert "data:image/svg+xml" in str(app.get("image")[0].proto)
    click(app, "Next →")
    assert_clean(app)
    assert "page 2 of 2" in shown(app)
    assert len(card_names(app)) >= 1


def test_search_category_price_and_sort_narrow_the_catalog(make_app: AppFactory) -> None:
    app = make_app()
    app.text_input(key="catalog_q").input("headphones").run()
    assert card_names(app) == ["Aurora Wireless Headphones"]
    app.text_input(key="catalog_q").input("").run()
    app.selectbox(key="catalog_category").select("Books").run()
    assert len(card_names(app)) == 4
    app.selectbox(key="catalog_sort").select("Price: high to low").run()
    assert prices(app) == sorted(prices(app), reverse=True)
    app.text_input(key="catalog_max").input("20").run()
    assert_clean(app)
    assert prices(app) and all(p <= 20 for p in prices(app))


def test_bad_price_filter_is_explained_not_crashed(make_app: AppFactory) -> None:
    app = make_app()
    app.text_input(key="catalog_min").input("cheap").run()
    assert_clean(app)
    assert "'cheap' is not a price, so it is ignored. Enter a number like 19.99." in shown(app)


def test_shopper_signs_up_and_in_through_the_forms(make_app: AppFactory) -> None:
    app = make_app(page="pages/account.py")
    app.text_input(key="signup_name").input("Nora New")
    app.text_input(key="signup_email").input("nora@example.com")
    app.text_input(key="signup_password").input("short")
    click(app, "Create account")
    assert_clean(app)
    said = [visible(e.value) for e in app.error]  # the 422 in words, with the next step
    assert said == ["The password needs at least 8 characters. Correct it and try again."]

    app.text_input(key="signup_password").input("long-enough-pw")
    click(app, "Create account")
    assert_clean(app)
    assert app.session_state["user"]["email"] == "nora@example.com"
    assert "Nora New" in shown(app)


def test_wrong_password_says_so(make_app: AppFactory) -> None:
    app = make_app(page="pages/account.py")
    app.text_input(key="signin_email").input("nobody@example.com")
    app.text_input(key="signin_password").input("wrong-password")
    click(app, "Sign in")
    assert_clean(app)
    assert [e.value for e in app.error] == ["Wrong e-mail or password. Check both and try again."]


def test_expired_session_asks_to_sign_in_again(
    make_app: AppFactory, shopper_state: dict[str, Any]
) -> None:
    state = {**shopper_state, "access_token": "expired.token.value", "refresh_token": "bad"}
    app = make_app(state)
    assert_clean(app)
    assert "Your session expired. Please sign in again." in shown(app)
    assert "access_token" not in app.session_state
    next(b for b in app.button if b.label == "Add").click().run()
    assert "Sign in to add to your cart: open Sign in in the menu." in shown(app)


def test_stale_access_token_is_renewed_with_the_refresh_token(
    make_app: AppFactory, shopper_state: dict[str, Any]
) -> None:
    app = make_app({**shopper_state, "access_token": "stale.token.value"})
    assert_clean(app)
    assert "session expired" not in shown(app)
    assert app.session_state["access_token"] not in ("stale.token.value", None)
    assert app.session_state["refresh_token"] != shopper_state["refresh_token"]


def test_product_page_shows_picture_stock_and_price(
    make_app: AppFactory, shopper_state: dict[str, Any]
) -> None:
    app = make_app(shopper_state)
    next(b for b in app.button if b.label == "View").click().run()
    assert_clean(app)
    assert len(app.get("image")) == 1
    assert "In stock:" in shown(app)
    assert app.title[0].value == card_names(make_app())[0]


ADDRESS = {
    "ship_name": "Sam Shopper",
    "ship_line1": "1 Market Street",
    "ship_city": "Lisbon",
    "ship_postal": "1100-001",
    "ship_country": "PT",
}


def product_id(platform: Platform, query: str) -> int:
    page = httpx.get(f"{platform.commerce_url}/products", params={"q": query}).json()
    return int(page["items"][0]["id"])


def fill_shipping(app: AppTest) -> None:
    for key, value in ADDRESS.items():
        app.text_input(key=key).input(value)


def test_shopper_adds_to_cart_changes_quantity_and_checks_out(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    pid = product_id(platform, "skillet")
    app = make_app({**shopper_state, "product_id": pid}, page="pages/product.py")
    app.number_input(key="pd_qty").set_value(2)
    click(app, "Add to cart")
    assert_clean(app)
    assert "Added 2 x Cast Iron Skillet 26 cm to your cart." in shown(app)

    app.switch_page("pages/cart.py")
    app.run()
    assert_clean(app)
    assert "Subtotal: $79.80 (2 items)" in shown(app)
    app.number_input(key=f"qty_{pid}").set_value(3).run()
    assert_clean(app)
    assert "Subtotal: $119.70 (3 items)" in shown(app)

    click(app, "Proceed to checkout")
    assert_clean(app)
    assert "Total: $119.70" in shown(app)
    app.switch_page("pages/checkout.py")  # AppTest forgets an in-script switch on the next run
    fill_shipping(app)
    click(app, "Place order")
    assert_clean(app)
    orders = platform.get("/orders", shopper_state).json()
    assert orders["total"] == 1
    assert f"Order #{orders['items'][0]['id']} is placed ($119.70)" in shown(app)
    assert platform.get("/cart", shopper_state).json()["items"] == []


def test_a_repeated_checkout_submit_makes_one_order(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    pid = product_id(platform, "runner")
    assert platform.post(
        "/cart/items", shopper_state, {"product_id": pid, "quantity": 1}
    ).is_success
    app = make_app({**shopper_state, "checkout_idempotency_key": "attempt-1"}, "pages/checkout.py")
    # The first click's request reached the shop, but its script run was cut short by the
    # second click: the second run resends the same key.
    first = httpx.post(
        f"{platform.commerce_url}/orders",
        json={
            "shipping_address": {
                "name": "Sam Shopper",
                "line1": "1 Market Street",
                "city": "Lisbon",
                "postal_code": "1100-001",
                "country": "PT",
            }
        },
        headers={
            "Authorization": f"Bearer {shopper_state['access_token']}",
            "Idempotency-Key": "attempt-1",
        },
    )
    assert first.status_code == 201, first.text
    fill_shipping(app)
    click(app, "Place order")
    assert_clean(app)
    orders = platform.get("/orders", shopper_state).json()
    assert orders["total"] == 1
    assert f"Order #{first.json()['id']} is placed" in shown(app)
    assert "checkout_idempotency_key" not in app.session_state  # the next attempt is a new one


def test_checkout_short_of_stock_is_explained(
    make_app: AppFactory,
    platform: Platform,
    shopper_state: dict[str, Any],
    admin_state: dict[str, Any],
) -> None:
    pid = product_id(platform, "tent")
    assert platform.post(
        "/cart/items", shopper_state, {"product_id": pid, "quantity": 2}
    ).is_success
    app = make_app(shopper_state, page="pages/checkout.py")
    stock = httpx.get(f"{platform.commerce_url}/products/{pid}").json()["stock"]
    taken = platform.post(
        f"/products/{pid}/inventory", admin_state, {"delta": 1 - stock, "reason": "damaged"}
    )
    assert taken.is_success, taken.text
    try:
        fill_shipping(app)
        click(app, "Place order")
        assert_clean(app)
        said = [visible(e.value) for e in app.error]
        assert len(said) == 1 and said[0].startswith("Cannot check out: Two-Person Dome Tent")
        assert said[0].endswith("Change your cart, then place the order again.")
        assert platform.get("/orders", shopper_state).json()["total"] == 0

        app.switch_page("pages/cart.py")
        app.run()
        assert "Only 1 left in stock" in shown(app)
        assert "Lower the quantities marked above before checking out." in shown(app)
    finally:
        platform.post(
            f"/products/{pid}/inventory", admin_state, {"delta": stock - 1, "reason": "found"}
        )


def test_shopper_sees_status_history_and_cancels(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    pid = product_id(platform, "headphones")
    assert platform.post(
        "/cart/items", shopper_state, {"product_id": pid, "quantity": 1}
    ).is_success
    app = make_app(shopper_state, page="pages/checkout.py")
    fill_shipping(app)
    click(app, "Place order")
    order_id = platform.get("/orders", shopper_state).json()["items"][0]["id"]

    app.switch_page("pages/orders.py")
    app.run()
    assert_clean(app)
    placed = fmt.when(platform.get(f"/orders/{order_id}", shopper_state).json()["created_at"])
    assert f"Order #{order_id} · Awaiting payment · $129.00 · {placed}" in app.expander[0].label
    assert any(visible(m.value).startswith("Awaiting payment on ") for m in app.markdown)
    click(app, "Cancel order")
    assert_clean(app)
    order = platform.get(f"/orders/{order_id}", shopper_state).json()
    assert order["status"] == "cancelled"
    assert f"Order #{order_id} · Cancelled" in app.expander[0].label


def test_add_on_a_catalog_card_puts_one_in_the_cart(
    make_app: AppFactory, platform: Platform, shopper_state: dict[str, Any]
) -> None:
    pid = product_id(platform, "backpack")
    app = make_app(shopper_state)
    app.text_input(key="catalog_q").input("backpack").run()
    app.button(key=f"add_{pid}").click().run()
    assert_clean(app)
    assert [visible(t.value) for t in app.toast] == [
        "Added Trail Running Backpack 12 L to your cart"
    ]
    lines = platform.get("/cart", shopper_state).json()["items"]
    assert [(line["product_id"], line["quantity"]) for line in lines] == [(pid, 1)]
