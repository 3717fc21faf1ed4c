"""Unpaid orders expire by hand (`shopfn expire-payments`), on the payments function's
scheduled EventBridge event, and on the local schedule of `shopfn serve`."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from shopping import add_to_cart, checkout, new_product, stock_of
from sqlalchemy import update
from support import Account, LambdaClient, make_admin, route, sign_up

from shop.coltypes import utcnow
from shop.db import session_scope
from shop.models import Order
from shop.settings import get_settings
from shopfn.cli import main
from shopfn.loader import load_handler
from shopfn.scheduler import (
    PAYMENT_EXPIRY_RULE_ARN,
    scheduled_event,
    start_payment_expiry_scheduler,
)


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


def unpaid_past_hold(client: LambdaClient, admin: Account, units: int = 2) -> tuple[int, int]:
    """(order id, product id) of an unpaid order whose hold ended a minute ago."""
    product = new_product(client, admin, stock=5)
    shopper = sign_up(client)
    add_to_cart(client, shopper, product, units)
    order_id = checkout(client, shopper).json()["id"]
    with session_scope() as session:
        session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(hold_until=utcnow() - timedelta(minutes=1))
        )
    return order_id, product


def status_of(order_id: int) -> str:
    with session_scope() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order.status


def test_shopfn_expire_payments_says_what_it_did(
    client: LambdaClient, admin: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    order_id, product = unpaid_past_hold(client, admin)
    assert main(["expire-payments"]) == 0
    out = capsys.readouterr().out
    assert "1 unpaid orders expired" in out and "stock is back" in out
    assert (status_of(order_id), stock_of(product)) == ("expired", 5)
    assert main(["expire-payments", "--json", "--batch-size", "10"]) == 0
    assert json.loads(capsys.readouterr().out)["expired"] == 0
    with pytest.raises(SystemExit) as usage:
        main(["expire-payments", "--batch-size", "0"])
    assert usage.value.code == 2
    assert "from 1 to 10000" in capsys.readouterr().err


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def test_the_scheduled_event_expires_in_the_payments_function(
    client: LambdaClient, admin: Account
) -> None:
    order_id, _ = unpaid_past_hold(client, admin)
    handler = load_handler(route("/payments"))
    event = scheduled_event(datetime.now(UTC), PAYMENT_EXPIRY_RULE_ARN)
    result: dict[str, Any] = handler(event, _Context())
    assert (result["expired"], result["complete"]) == (1, True)
    assert status_of(order_id) == "expired"


def test_the_local_schedule_expires_through_the_payments_function(
    client: LambdaClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, _ = unpaid_past_hold(client, admin)
    monkeypatch.setenv("PAYMENT_EXPIRY_SCHEDULE", "every:0.05")
    get_settings.cache_clear()
    scheduler = start_payment_expiry_scheduler()
    assert scheduler is not None
    try:
        deadline = time.monotonic() + 30
        while status_of(order_id) != "expired" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
        scheduler.join(timeout=30)
        monkeypatch.undo()
        get_settings.cache_clear()
    assert status_of(order_id) == "expired"


def test_no_local_schedule_when_it_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_EXPIRY_SCHEDULE", "off")
    get_settings.cache_clear()
    try:
        assert start_payment_expiry_scheduler() is None
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
