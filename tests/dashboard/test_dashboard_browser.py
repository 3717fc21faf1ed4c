"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

An admin signs in, opens the ML page, retrains and reads the plain sentences; a shopper
signs up, adds to the cart, checks out, sees a declined test card explained, pays with the
test card that succeeds and sees "Paid" in My orders; an at-risk simulated customer gets a
campaign's offer, pays with its code, and the ML page counts them; hostile names and chat
messages stay text.
Screenshots go to test-output/dashboard/; with UPDATE_SCREENSHOTS=1 the main pages are also
copied to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dashboard_platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform
from servers import ROOT, free_port
from test_dashboard_admin import BARE_METRICS, place_order
from test_dashboard_storefront import product_id

from shopfn.outbox_watch import SHOWN

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-output" / "dashboard"
README_SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
WAIT_MS = 30_000
EVIL_HOST = "evil.example"
HOSTILE = (
    f"![x](https://{EVIL_HOST}/?d=1) [deal](https://{EVIL_HOST}) https://{EVIL_HOST}/bare "
    f"www.{EVIL_HOST} boss@{EVIL_HOST} <b>bold</b> <img src=https://{EVIL_HOST}/i.png>"
)
VIEWPORT = {"width": 1400, "height": 1000}


def ensure_chromium() -> None:
    """Install Debian's chromium when it is missing (CI runs as root)."""
    if CHROMIUM.exists():
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "chromium"], check=True, env=env)


@pytest.fixture(scope="module")
def dashboard_url(platform: Platform) -> Iterator[str]:
    from shopfn.dashboard import Dashboard

    urls = {"COMMERCE_API_URL": platform.commerce_url, "ML_API_URL": platform.ml_url}
    dashboard = Dashboard(port=free_port(), env=urls)
    dashboard.start()
    try:
        assert dashboard.wait_healthy(90), "the dashboard did not become healthy"
        yield dashboard.url
    finally:
        dashboard.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ensure_chromium()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def snap(page: Any, name: str, *, readme: bool = False) -> None:
    page.wait_for_timeout(1500)  # let charts and images finish drawing
    # Streamlit scrolls inside its main block: size the window to the content, then shoot.
    height = page.evaluate("document.querySelector('[data-testid=stMain] > div')?.scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(700, int(height or 0) + 40)})
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if readme and os.environ.get("UPDATE_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, README_SHOTS / path.name)


def open_page(page: Any, label: str) -> None:
    """Follow a sidebar link: in-app navigation keeps the signed-in session."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=label).click()


def sign_in(page: Any, email: str, password: str) -> None:
    open_page(page, "Sign in")
    form = page.get_by_test_id("stForm").filter(has_text="Sign in").first
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()


def test_admin_sees_ml_monitoring_and_sales_overview(
    browser: Any, dashboard_url: str, platform: Platform
) -> None:
    from playwright.sync_api import expect

    shopper = platform.sign_up("browser-buyer@example.com", name="Bea Buyer")
    for query in ("headphones", "yoga", "atlas"):
        place_order(platform, shopper, query, 2)

    page = browser.new_page(viewport=VIEWPORT)
    page.goto(dashboard_url)
    expect(page.get_by_role("heading", name="Shop")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Aurora Wireless Headphones")).to_be_visible(timeout=WAIT_MS)
    snap(page, "shop", readme=True)

    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=WAIT_MS)

    open_page(page, "Overview")
    expect(page.get_by_text("Revenue per day")).to_be_visible(timeout=WAIT_MS)
    snap(page, "admin-overview", readme=True)

    open_page(page, "Catalog & inventory")
    expect(page.get_by_role("heading", name="Catalog & inventory")).to_be_visible(timeout=WAIT_MS)
    snap(page, "admin-catalog", readme=True)

    open_page(page, "ML monitoring")
    expect(page.get_by_role("heading", name="ML monitoring")).to_be_visible(timeout=WAIT_MS)
    expect(
        page.get_by_text("Models retrain every night at 03:00 UTC (local scheduler).")
    ).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Retrain now").click()
    expect(page.get_by_text(re.compile(r"^Run \d+ (finished|was skipped|failed)"))).to_be_visible(
        timeout=120_000
    )
    main = page.get_by_test_id("stMain")
    expect(
        main.get_by_text("Tells a customer who is leaving from one who is staying")
    ).to_be_visible(timeout=WAIT_MS)
    expect(main.get_by_text("spend forecast is typically off by $")).to_be_visible()
    expect(main.get_by_text(re.compile(r"^The newest churn model \(run \d+\)"))).to_be_visible()
    page.wait_for_timeout(1500)  # charts and tables drawn
    words = main.inner_text()
    assert not BARE_METRICS.search(words), BARE_METRICS.findall(words)
    assert not re.search(r"\b\d+\.000\b", words)
    snap(page, "admin-ml", readme=True)
    assert not page.get_by_text("Something went wrong").count()
    page.close()


def assert_nothing_loads_or_links(page: Any) -> None:
    """No image source and no link in the page points at the hostile address."""
    main = page.get_by_test_id("stMain")
    assert main.locator(f'img[src*="{EVIL_HOST}"], a[href*="{EVIL_HOST}"]').count() == 0
    assert main.locator("a[href^='mailto:'], b, img:not([src^='data:'])").count() == 0


def test_hostile_text_renders_as_text_in_the_browser(
    browser: Any, dashboard_url: str, platform: Platform
) -> None:
    from playwright.sync_api import expect

    admin = platform.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    created = platform.post(
        "/products",
        admin,
        {
            "sku": "EV-BROWSER",
            "name": f"Evil {HOSTILE}",
            "category": "Oddities",
            "price": "5.00",
            "stock": 3,
            "description": HOSTILE,
        },
    )
    assert created.status_code == 201, created.text
    shopper = platform.sign_up("browser-hostile@example.com", name=f"Eve {HOSTILE}")
    question = f"I want a human. {HOSTILE}"
    assert platform.post("/support/chat", shopper, {"message": question}).is_success
    try:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{dashboard_url}/product?id={created.json()['id']}")
        title = page.get_by_role("heading", level=1)
        expect(title).to_be_visible(timeout=WAIT_MS)
        # As typed; the invisible word joiners are what keeps bare addresses from linking.
        assert title.inner_text().replace("\u2060", "") == f"Evil {HOSTILE}"
        expect(page.get_by_text(HOSTILE, exact=True)).to_be_visible()  # the description
        assert_nothing_loads_or_links(page)

        page.goto(dashboard_url)
        expect(page.get_by_role("heading", name="Shop")).to_be_visible(timeout=WAIT_MS)
        sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(page.get_by_text("Signed in as")).to_be_visible(timeout=WAIT_MS)
        open_page(page, "Support tickets")
        expect(page.get_by_role("heading", name="Support tickets")).to_be_visible(timeout=WAIT_MS)
        page.get_by_test_id("stSelectbox").filter(has_text="Ticket").click()
        page.get_by_role("option").filter(has_text="I want a human").first.click()
        expect(page.get_by_text(question, exact=True)).to_be_visible(timeout=WAIT_MS)
        assert_nothing_loads_or_links(page)
        page.close()
    finally:
        httpx.delete(
            f"{platform.commerce_url}/products/{created.json()['id']}",
            headers={"Authorization": f"Bearer {admin['access_token']}"},
        )


DECLINE_SENTENCE = (
    "Your card was declined. Nothing was taken from your card. Try another card, or ask your "
    "bank why it refused the payment."
)


def pay_by_card(page: Any, number: str) -> None:
    """Fill the test mode's card form and pay."""
    form = page.get_by_test_id("stForm").filter(has_text="Card number")
    form.get_by_label("Card number").fill(number)
    form.get_by_label("Expiry (MM/YY)").fill("12/34")
    form.get_by_label("CVC").fill("123")
    form.get_by_role("button", name=re.compile(r"^Pay \$")).click()


def place_order_at(page: Any, line1: str, city: str, postal_code: str) -> None:
    """Fill the checkout's address (in GB) and place the order."""
    form = page.get_by_test_id("stForm")
    for label, value in (
        ("Address line 1", line1),
        ("City", city),
        ("Postal code", postal_code),
        ("Country", "GB"),
    ):
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name="Place order").click()


def test_shopper_pays_by_card_and_sees_paid_in_the_browser(
    browser: Any, dashboard_url: str, platform: Platform
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport=VIEWPORT)
    page.goto(dashboard_url)
    expect(page.get_by_role("heading", name="Shop")).to_be_visible(timeout=WAIT_MS)
    open_page(page, "Sign in")
    page.get_by_role("tab", name="Create an account").click()
    form = page.get_by_test_id("stForm").filter(has_text="Create account")
    form.get_by_label("Full name").fill("Carla Checkout")
    form.get_by_label("E-mail").fill("browser-shopper@example.com")
    form.get_by_label("Password (at least 8 characters)", exact=True).fill("browser-shopper-pw")
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=WAIT_MS)

    open_page(page, "Shop")
    pid = product_id(platform, "skillet")
    page.locator(f".st-key-view_{pid}").get_by_role("button", name="View").click()
    expect(page.get_by_role("heading", name="Cast Iron Skillet 26 cm")).to_be_visible(
        timeout=WAIT_MS
    )
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("to your cart.")).to_be_visible(timeout=WAIT_MS)
    snap(page, "product", readme=True)

    open_page(page, "Cart")
    expect(page.get_by_text("Subtotal: $39.90 (1 item)")).to_be_visible(timeout=WAIT_MS)
    snap(page, "cart", readme=True)
    page.get_by_role("button", name="Proceed to checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible(timeout=WAIT_MS)
    place_order_at(page, "5 Harbour Way", "Bristol", "BS1 4QA")
    expect(page.get_by_text("Test mode: no money moves.")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("4000 0025 0000 3155")).to_be_visible()

    pay_by_card(page, "4000 0000 0000 0002")  # declined
    expect(page.get_by_text(DECLINE_SENTENCE)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_label("Card number")).to_have_value("")  # the number is not kept
    snap(page, "checkout", readme=True)
    pay_by_card(page, "4242 4242 4242 4242")
    expect(page.get_by_text(re.compile(r"Thank you! Order #\d+ is paid"))).to_be_visible(
        timeout=WAIT_MS
    )
    snap(page, "order-paid")
    open_page(page, "My orders")
    expect(page.get_by_text(re.compile(r"^Order #\d+ · Paid · \$39\.90"))).to_be_visible(
        timeout=WAIT_MS
    )

    state = platform.login("browser-shopper@example.com", "browser-shopper-pw")
    orders = platform.get("/orders", state).json()
    assert orders["total"] == 1
    assert (orders["items"][0]["total"], orders["items"][0]["status"]) == ("39.90", "paid")
    page.close()


def _admin_headers(platform: Platform) -> dict[str, str]:
    admin = platform.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return {"Authorization": f"Bearer {admin['access_token']}"}


def _outbox(platform: Platform, headers: dict[str, str], **filters: Any) -> list[dict[str, Any]]:
    """Every message in the local outbox (all pages), newest first."""
    messages: list[dict[str, Any]] = []
    for number in range(1, 100):
        page = httpx.get(
            f"{platform.ml_url}/ml/campaigns/outbox",
            params={"page": number, "page_size": 100, **filters},
            headers=headers,
        ).json()
        messages += page["items"]
        if len(messages) >= page["total"]:
            break
    return messages


def start_campaign_for_the_most_at_risk(
    platform: Platform, headers: dict[str, str], count: int = 30
) -> int:
    """A campaign for the `count` customers most at risk not yet contacted, run now; its id.

    Other running campaigns are switched off first, so this run is this campaign's alone.
    """
    ml = f"{platform.ml_url}/ml"
    listed = httpx.get(f"{ml}/campaigns", params={"page_size": 100}, headers=headers).json()
    for campaign in listed["items"]:
        if campaign["is_active"]:
            off = httpx.patch(
                f"{ml}/campaigns/{campaign['id']}", json={"is_active": False}, headers=headers
            )
            assert off.status_code == 200, off.text
    contacted = {m["user_id"] for m in _outbox(platform, headers)}
    at_risk = httpx.get(f"{ml}/predictions/at-risk", params={"limit": 500}, headers=headers)
    fresh = [c for c in at_risk.json() if c["user_id"] not in contacted][:count]
    assert len(fresh) == count, "the demo shop has too few customers to pick from"
    body = {
        "name": "Browser win back",
        "churn_threshold": max(0.0, fresh[-1]["churn_probability"] - 0.001),
        "offer_kind": "percent",
        "offer_value": "10",
        "control_share": 0.3,
        "seed": 22,
    }
    made = httpx.post(f"{ml}/campaigns", json=body, headers=headers)
    assert made.status_code == 201, made.text
    campaign_id = int(made.json()["id"])
    ran = httpx.post(f"{ml}/campaigns/run", headers=headers, timeout=60)
    assert ran.status_code == 200, ran.text
    (summary,) = [r for r in ran.json() if r["campaign_id"] == campaign_id]
    assert summary["offered"] > 0 and summary["held_back"] > 0, summary
    return campaign_id


def give_password(platform: Platform, user_id: int, password: str) -> None:
    """Let a simulated customer sign in: their random password replaced in the shop's file."""
    import sqlite3
    from contextlib import closing

    from shop.passwords import hash_password

    with closing(sqlite3.connect(platform.data_dir / "shopfn.db", timeout=30)) as db, db:
        db.execute(
            "UPDATE users SET password_hash = ? WHERE id = ?",
            (hash_password(password, rounds=4), user_id),
        )


def test_an_at_risk_customer_pays_with_the_offer_and_the_ml_page_counts_it(
    browser: Any, dashboard_url: str, platform: Platform
) -> None:
    from playwright.sync_api import expect

    headers = _admin_headers(platform)
    campaign_id = start_campaign_for_the_most_at_risk(platform, headers)

    def effect() -> dict[str, Any]:
        reply = httpx.get(f"{platform.ml_url}/ml/campaigns/{campaign_id}/effect", headers=headers)
        assert reply.status_code == 200, reply.text
        return dict(reply.json())

    before = effect()
    assert (before["offer"]["ordered_again"], before["control"]["ordered_again"]) == (0, 0)
    sent = _outbox(platform, headers, campaign_id=campaign_id)
    message = next(m for m in sent if m["status"] == "sent")
    password = "comes-back-pw-1"
    give_password(platform, message["user_id"], password)
    customer = platform.login(message["to_address"], password)
    assert customer["user"]["id"] == message["user_id"]
    assert platform.post(
        "/cart/items", customer, {"product_id": product_id(platform, "skillet"), "quantity": 1}
    ).is_success

    page = browser.new_page(viewport=VIEWPORT)
    page.goto(dashboard_url)
    expect(page.get_by_role("heading", name="Shop")).to_be_visible(timeout=WAIT_MS)
    sign_in(page, message["to_address"], password)
    expect(page.get_by_text("Signed in as")).to_be_visible(timeout=WAIT_MS)
    open_page(page, "Shop")
    banner = page.get_by_text(re.compile(r"^Just for you: 10% off"))
    expect(banner).to_be_visible(timeout=WAIT_MS)
    shown = re.search(r"Use the code (\S+) in your cart\.", banner.inner_text())
    assert shown, banner.inner_text()
    code = shown.group(1)
    snap(page, "offer-banner")

    open_page(page, "Cart")
    expect(page.get_by_text("Subtotal: $39.90 (1 item)")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Coupon code").fill(code)
    page.get_by_label("Coupon code").press("Enter")
    expect(page.get_by_text(re.compile(r"you save \$3\.99"))).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Total: $35.91")).to_be_visible()
    page.get_by_role("button", name="Proceed to checkout").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Total: $35.91")).to_be_visible(timeout=WAIT_MS)
    place_order_at(page, "9 Return Lane", "Leeds", "LS1 1AA")
    expect(page.get_by_text("Test mode: no money moves.")).to_be_visible(timeout=WAIT_MS)
    # Placed but not paid yet: not an order again.
    assert effect()["offer"]["ordered_again"] == 0
    pay_by_card(page, "4242 4242 4242 4242")
    expect(page.get_by_text(re.compile(r"Thank you! Order #\d+ is paid"))).to_be_visible(
        timeout=WAIT_MS
    )
    page.close()
    order = platform.get("/orders", customer).json()["items"][0]
    assert (order["status"], order["discount"], order["total"]) == ("paid", "3.99", "35.91")

    after = effect()
    offered, left_alone = after["offer"], after["control"]
    assert offered["customers"] == before["offer"]["customers"]
    assert (offered["ordered_again"], offered["codes_used"]) == (1, 1)
    assert (offered["revenue"], offered["discounts"]) == ("35.91", "3.99")
    assert left_alone["ordered_again"] == 0
    share = f"{100 / offered['customers']:.0f}%"
    summary = (
        f"Of {offered['customers']} customers we offered 10% off, {share} ordered again within "
        f"30 days; of the {left_alone['customers']} we left alone, 0% did."
    )
    assert after["summary"] == summary

    admin_page = browser.new_page(viewport=VIEWPORT)
    admin_page.goto(dashboard_url)
    expect(admin_page.get_by_role("heading", name="Shop")).to_be_visible(timeout=WAIT_MS)
    sign_in(admin_page, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(admin_page.get_by_text("Signed in as")).to_be_visible(timeout=WAIT_MS)
    open_page(admin_page, "ML monitoring")
    main = admin_page.get_by_test_id("stMain")
    expect(main.get_by_text("Browser win back: 10% off, running")).to_be_visible(timeout=WAIT_MS)
    expect(main.get_by_text(summary)).to_be_visible(timeout=WAIT_MS)
    snap(admin_page, "campaign-effect")
    assert not admin_page.get_by_text("Something went wrong").count()
    admin_page.close()
    # `shopfn serve` printed the run's first offers on its console when the run wrote them,
    # and how many more there were.
    console = platform.log.read_text()
    assert any(f"to {m['to_address']}  [" in console for m in sent), console[-3000:]
    if len(sent) > SHOWN:
        assert "more new messages: `shopfn outbox` lists them all." in console
