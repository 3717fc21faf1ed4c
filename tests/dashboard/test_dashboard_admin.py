"""Admin console pages run by AppTest against the real APIs, with real orders behind them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dashboard_platform import Platform
from markdown_check import visible
from streamlit.testing.v1 import AppTest
from test_dashboard_storefront import assert_clean, click, product_id, shown

from shopui import ml_words as words

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess

AppFactory = Callable[..., AppTest]
ADDRESS = {
    "name": "Ann",
    "line1": "2 Pier Rd",
    "city": "Porto",
    "postal_code": "4000",
    "country": "PT",
}


def widget(elements: Any, label: str) -> Any:
    return next(w for w in elements if w.label == label)


def place_order(platform: Platform, state: dict[str, Any], query: str, quantity: int = 1) -> dict:
    pid = product_id(platform, query)
    assert platform.post("/cart/items", state, {"product_id": pid, "quantity": quantity}).is_success
    reply = httpx.post(
        f"{platform.commerce_url}/orders",
        json={"shipping_address": ADDRESS},
        headers={
            "Authorization": f"Bearer {state['access_token']}",
            "Idempotency-Key": f"k-{pid}-{state['user']['id']}",
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


SUCCEEDS = "4242 4242 4242 4242"  # the test mode's card that pays


def paid_order(platform: Platform, state: dict[str, Any], query: str) -> dict[str, Any]:
    order = place_order(platform, state, query)
    card = {"card_number": SUCCEEDS}
    paid = platform.post(f"/payments/orders/{order['id']}/test-card", state, card)
    assert paid.json()["status"] == "paid", paid.text
    return order


def test_admin_pages_are_not_offered_to_shoppers(
    make_app: AppFactory, shopper_state: dict[str, Any]
) -> None:
    app = make_app(shopper_state)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/admin_overview.py")


def test_overview_charts_sales_from_the_stats_endpoint(
    make_app: AppFactory,
    platform: Platform,
    shopper_state: dict[str, Any],
    admin_state: dict[str, Any],
) -> None:
    place_order(platform, shopper_state, "speaker", 2)
    pid = product_id(platform, "sweater")
    stock = httpx.get(f"{platform.commerce_url}/products/{pid}").json()["stock"]
    platform.post(
        f"/products/{pid}/inventory", admin_state, {"delta": 3 - stock, "reason": "count"}
    )
    stats = platform.get("/orders/stats", admin_state, days=30).json()

    app = make_app(admin_state, page="pages/admin_overview.py")
    assert_clean(app)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Revenue, last 30 days"] == f"${Decimal(stats['totals']['revenue']):,.2f}"
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", metrics["Revenue, last 30 days"])
    assert metrics["Orders"] == f"{stats['totals']['orders']:,}"
    assert len(app.get("plotly_chart")) == 4  # revenue, orders per day, by status, top products
    low = app.dataframe[0].value
    assert "Merino Crew Sweater" in set(low["Product"])
    assert low.loc[low["Product"] == "Merino Crew Sweater", "In stock"].iloc[0] == "3"


def test_admin_creates_edits_restocks_and_deactivates_a_product(
    make_app: AppFactory, platform: Platform, admin_state: dict[str, Any]
) -> None:
    app = make_app(admin_state, page="pages/admin_catalog.py")
    assert_clean(app)
    widget(app.text_input, "SKU").input("DB-9001")
    widget(app.text_input, "Name ").input("Dashboard Mug")
    widget(app.text_input, "Category ").input("Home & Kitchen")
    widget(app.text_input, "Price ").input("12.50")
    widget(app.number_input, "Initial stock").set_value(5)
    click(app, "Create product")
    assert_clean(app)
    created = httpx.get(f"{platform.commerce_url}/products", params={"q": "Dashboard Mug"}).json()
    assert created["total"] == 1
    mug = created["items"][0]
    assert (mug["sku"], mug["price"], mug["stock"]) == ("DB-9001", "12.50", 5)
    assert f"Created Dashboard Mug (ID {mug['id']})." in shown(app)

    label = "DB-9001 · Dashboard Mug"
    app.text_input(key="adm_cat_q").input("Dashboard Mug").run()
    app.selectbox(key="adm_edit_pick").select(label).run()
    widget(app.text_input, "Price").input("14.00")
    click(app, "Save changes")
    assert "Saved Dashboard Mug." in shown(app)
    app.selectbox(key="adm_stock_pick").select(label).run()
    widget(app.number_input, "Change (+ received, - removed)").set_value(-7)
    widget(app.text_input, "Reason").input("broken in transit")
    click(app, "Apply")
    assert [visible(e.value) for e in app.error] == [  # below zero
        "Not enough stock: 5 left, cannot remove 7. Enter a smaller change."
    ]
    widget(app.number_input, "Change (+ received, - removed)").set_value(10)
    click(app, "Apply")
    assert "Dashboard Mug: stock is now 15." in shown(app)
    mug = httpx.get(f"{platform.commerce_url}/products/{mug['id']}").json()
    assert (mug["price"], mug["stock"]) == ("14.00", 15)

    click(app, "Deactivate this product")
    assert_clean(app)
    assert httpx.get(f"{platform.commerce_url}/products/{mug['id']}").status_code == 404

    app.number_input(key="adm_reactivate_id").set_value(mug["id"])
    click(app, "Reactivate")
    assert "Dashboard Mug is back in the shop." in shown(app)
    assert httpx.get(f"{platform.commerce_url}/products/{mug['id']}").status_code == 200


def test_admin_ships_a_paid_order_and_cannot_mark_one_paid(
    make_app: AppFactory,
    platform: Platform,
    shopper_state: dict[str, Any],
    admin_state: dict[str, Any],
) -> None:
    order = paid_order(platform, shopper_state, "headphones")
    app = make_app(admin_state, page="pages/admin_orders.py")
    app.selectbox(key="adm_orders_status").select("paid").run()
    picker = app.selectbox(key="adm_move_pick")
    picker.select(next(o for o in picker.options if o.startswith(f"#{order['id']} "))).run()
    moves = app.selectbox(key=f"adm_move_to_{order['id']}")
    assert moves.options == ["Shipped", "Cancelled and refunded"]
    moves.select("shipped").run()
    click(app, "Apply")
    assert_clean(app)
    assert f"Order #{order['id']} is now shipped." in shown(app)
    assert platform.get(f"/orders/{order['id']}", admin_state).json()["status"] == "shipped"


def test_admin_promotes_and_deactivates_a_user(
    make_app: AppFactory, platform: Platform, admin_state: dict[str, Any]
) -> None:
    other = platform.sign_up("promote-me@example.com", name="Pat Promoted")
    app = make_app(admin_state, page="pages/admin_users.py")
    app.text_input(key="adm_users_q").input("promote-me").run()
    assert_clean(app)
    assert list(app.dataframe[0].value["E-mail"]) == ["promote-me@example.com"]
    widget(app.radio, "Role").set_value("admin")
    widget(app.checkbox, "Active (may sign in)").uncheck()
    click(app, "Save")
    assert "promote-me@example.com is now admin, deactivated." in shown(app)
    user = platform.get(f"/users/{other['user']['id']}", admin_state).json()
    assert (user["role"], user["is_active"]) == ("admin", False)


def test_shopper_asks_for_a_human_and_admin_resolves_the_ticket(
    make_app: AppFactory, platform: Platform, admin_state: dict[str, Any]
) -> None:
    shopper = platform.sign_up("needs-help@example.com")
    chat = make_app(shopper, page="pages/support.py")
    chat.chat_input[0].set_value("I want to talk to a human about my order, please").run()
    assert_clean(chat)
    assert len(chat.chat_message) == 2  # the question and the assistant's answer

    app = make_app(admin_state, page="pages/admin_support.py")
    assert_clean(app)
    tickets = platform.get("/support/tickets", admin_state, status="open").json()["items"]
    mine = next(t for t in tickets if t["user_id"] == shopper["user"]["id"])
    label = next(
        o for o in app.selectbox(key="adm_ticket_pick").options if o.startswith(f"#{mine['id']} ")
    )
    app.selectbox(key="adm_ticket_pick").select(label).run()
    said = [m.text[0].value for m in app.chat_message if m.text]
    assert "I want to talk to a human about my order, please" in said
    widget(app.radio, "Status").set_value("resolved")
    widget(app.text_area, "Resolution note").input("Called the customer.")
    click(app, "Save ticket")
    assert f"Ticket #{mine['id']} is resolved." in shown(app)
    ticket = platform.get(f"/support/tickets/{mine['id']}", admin_state).json()
    assert (ticket["status"], ticket["resolution_note"]) == ("resolved", "Called the customer.")


BARE_METRICS = re.compile(r"\b(auc|mae|rmse|spearman|brier|log_loss|ece|psi)\b", re.IGNORECASE)


def assert_plain_ml_page(app: AppTest) -> None:
    """The ML page speaks in sentences; metric names only in tooltips and the details."""
    text = shown(app)
    assert not BARE_METRICS.search(text), BARE_METRICS.findall(text)
    assert not re.search(r"\b\d+\.000\b", text)  # no count with three decimals
    assert "Models retrain every night at 03:00 UTC (local scheduler)." in text
    assert (
        "A run also starts when you press Retrain now, when enough new orders and visits have "
        "come in or when customers' behaviour has changed a lot since the models learned."
    ) in text
    assert "EventBridge" not in text
    sentences = [visible(m.value) for m in app.markdown]
    assert any(
        re.fullmatch(
            r"Tells a customer who is leaving from one who is staying \d+% of the time "
            r"\(guessing would get 50%\)\.",
            s,
        )
        for s in sentences
    )
    assert any(
        re.fullmatch(r"A customer's 30-day spend forecast is typically off by \$[\d,]+\.\d\d\.", s)
        for s in sentences
    )
    assert any(re.fullmatch(r"The newest (churn|spend) model \(run \d+\) .+", s) for s in sentences)
    tooltips = [m.proto.help for m in app.markdown if m.proto.help]
    assert any(t.startswith("AUC (area under the ROC curve) 0.") for t in tooltips)
    assert any(t.startswith("MAE (mean absolute error) ") for t in tooltips)


def ml_is_live(platform: Platform) -> bool:
    try:
        return httpx.get(f"{platform.ml_url}/ml/retrain/health").status_code == 200
    except httpx.HTTPError:
        return False


def test_ml_page_retrains_and_shows_the_finished_run(
    make_app: AppFactory, platform: Platform, admin_state: dict[str, Any]
) -> None:
    app = make_app(admin_state, page="pages/admin_ml.py")
    assert_clean(app)
    if not ml_is_live(platform):  # before the ML functions are deployed, each section says so
        notes = [i.value for i in app.info]
        assert any("The model list is not available yet" in n for n in notes)
        assert any("Run history is not available yet" in n for n in notes)
        return
    assert "How good are the models in use?" in shown(app)
    assert_plain_ml_page(app)
    click(app, "Retrain now")
    assert_clean(app)
    deadline = time.monotonic() + 180
    while "retrain_last_result" not in app.session_state and time.monotonic() < deadline:
        time.sleep(1)
        app.run()  # what the page's 2-second auto-refresh does in a browser
    assert_clean(app)
    status, message = app.session_state["retrain_last_result"]
    run_id = int(re.match(r"Run (\d+) ", message).group(1))
    run = httpx.get(
        f"{platform.ml_url}/ml/retrain/runs/{run_id}",
        headers={"Authorization": f"Bearer {admin_state['access_token']}"},
    ).json()
    assert status == run["status"] in {"succeeded", "failed", "skipped"}
    assert message.startswith(f"Run {run_id} {'finished' if status == 'succeeded' else status}")
    assert message in shown(app)
    history = next(d.value for d in app.dataframe if "Started by" in d.value.columns)
    row = history.loc[history["Run"] == run_id].iloc[0]
    assert (row["Started by"], row["Result"]) == ("Started by hand", words.status_words(status))


def test_ml_page_says_when_the_ml_api_is_unreachable(
    make_app: AppFactory, admin_state: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from servers import free_port

    monkeypatch.setenv("ML_API_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    app = make_app(admin_state, page="pages/admin_ml.py")
    assert_clean(app)
    notes = [i.value for i in app.info]
    assert "The model list can't be reached right now. Try again in a minute." in notes
    click(app, "Retrain now")
    assert_clean(app)
    assert any("Retraining can't be reached right now" in i.value for i in app.info)
