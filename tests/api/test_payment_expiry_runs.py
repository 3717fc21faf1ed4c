"""Unpaid orders expire by hand (`shopfn expire-payments`), on the payments function's
scheduled EventBridge event, and on the local schedule of `shopfn serve`."""

from __future__ import annotations

import json
import logging
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
from shopfn.job_report import describe_expiry
from shopfn.loader import load_handler
from shopfn.scheduler import (
    PAYMENT_EXPIRY_RULE_ARN,
    FunctionScheduler,
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


def test_the_local_schedule_prints_a_sentence_only_when_orders_expired(
    client: LambdaClient,
    admin: Account,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="shopfn.scheduler")
    monkeypatch.setenv("PAYMENT_EXPIRY_SCHEDULE", "every:3600")
    get_settings.cache_clear()
    try:
        scheduler = start_payment_expiry_scheduler()
        assert scheduler is not None
        scheduler.stop()
        scheduler.fire()
        assert _console(caplog) == []  # nothing expired: nothing printed

        first, product = unpaid_past_hold(client, admin)
        second, _ = unpaid_past_hold(client, admin, units=1)
        scheduler.fire()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert _console(caplog) == [
        (
            logging.INFO,
            "2 unpaid orders expired after 30 minutes without payment; their stock is back "
            "on sale.",
        )
    ]
    assert (status_of(first), status_of(second), stock_of(product)) == ("expired", "expired", 5)


def test_a_failing_scheduled_job_says_so_in_plain_words_and_keeps_its_schedule(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import shopfn.scheduler as scheduler_module

    def unreachable(_spec: object, _event: dict[str, Any]) -> dict[str, Any]:
        raise ConnectionError("the database did not answer")

    monkeypatch.setattr(scheduler_module, "invoke", unreachable)
    scheduler = FunctionScheduler(
        "every:3600",
        function="payments",
        rule_arn=PAYMENT_EXPIRY_RULE_ARN,
        job="expiry of unpaid orders",
        describe=lambda result: describe_expiry(result, hold_minutes=30),
    )
    caplog.set_level(logging.INFO, logger="shopfn.scheduler")

    assert scheduler.fire() is None

    assert _console(caplog) == [
        (
            logging.ERROR,
            "Expiry of unpaid orders did not finish: ConnectionError: the database did not "
            "answer. It runs again at its next time.",
        )
    ]


def _console(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """What the scheduler printed: (level, words) per line."""
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "shopfn.scheduler"]


def test_no_local_schedule_when_it_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_EXPIRY_SCHEDULE", "off")
    get_settings.cache_clear()
    try:
        assert start_payment_expiry_scheduler() is None
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
