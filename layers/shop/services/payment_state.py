"""What the storefront and the admins read about payments, and the test mode's card form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import Conflict, InvalidInput, NotFound, Unavailable
from shop.models import Order, PaymentRefund
from shop.pagination import PageRequest, PageResult, paginate
from shop.payments import get_provider, in_test_mode
from shop.payments.keys import stripe_keys
from shop.payments.provider import ProviderRefused, ProviderUnavailable
from shop.payments.test_mode import TEST_CARDS, TestModeProvider, intent_event, signed
from shop.services import payment_events, payments
from shop.services.order_status import UNPAID
from shop.services.orders import Viewer, get_order
from shop.settings import get_settings


@dataclass(frozen=True)
class PaymentConfig:
    provider: str
    test_mode: bool
    publishable_key: str | None
    currency: str
    hold_minutes: int
    test_cards: list[dict[str, str]]


def payment_config() -> PaymentConfig:
    """How this shop takes payment: Stripe (with its publishable key) or the test mode."""
    settings = get_settings()
    testing = in_test_mode()
    return PaymentConfig(
        provider="test_mode" if testing else "stripe",
        test_mode=testing,
        publishable_key=None if testing else stripe_keys().publishable_key,
        currency=settings.shop_currency.upper(),
        hold_minutes=settings.payment_hold_minutes,
        test_cards=[{"number": c.number, "outcome": c.outcome} for c in TEST_CARDS]
        if testing
        else [],
    )


@dataclass(frozen=True)
class PaymentState:
    """An order's payment as its owner or an admin sees it."""

    order_id: int
    status: str
    amount: Decimal
    currency: str | None
    provider: str | None
    test_mode: bool
    payment_intent_id: str | None
    intent_status: str | None
    client_secret: str | None
    publishable_key: str | None
    hold_until: datetime | None
    paid_at: datetime | None
    refunded_total: Decimal
    payment_error: str | None
    payment_issue: str | None
    refunds: list[PaymentRefund]


def payment_state(session: Session, order_id: int, viewer: Viewer) -> PaymentState:
    """The order's payment; the client secret only for its owner while it can be paid."""
    order = get_order(session, order_id, viewer)
    owner = order.user_id == viewer.user_id
    intent_status = client_secret = None
    if order.status in UNPAID and order.payment_intent_id is not None and owner:
        try:
            intent = get_provider(session).retrieve_intent(order.payment_intent_id)
        except ProviderUnavailable as exc:
            raise Unavailable(payments.PROVIDER_DOWN, extra={"retryable": True}) from exc
        except ProviderRefused as exc:
            raise Unavailable(f"The payment service refused: {exc.message}") from exc
        intent_status, client_secret = intent.status, intent.client_secret
    refunds = list(
        session.scalars(
            select(PaymentRefund)
            .where(PaymentRefund.order_id == order_id)
            .order_by(PaymentRefund.id)
        )
    )
    session.commit()
    return PaymentState(
        order_id=order.id,
        status=order.status,
        amount=order.total,
        currency=order.currency,
        provider=order.payment_provider,
        test_mode=order.payment_provider == "test_mode",
        payment_intent_id=order.payment_intent_id,
        intent_status=intent_status,
        client_secret=client_secret,
        publishable_key=None if in_test_mode() else stripe_keys().publishable_key,
        hold_until=order.hold_until,
        paid_at=order.paid_at,
        refunded_total=order.refunded_total,
        payment_error=order.payment_error,
        payment_issue=order.payment_issue if viewer.is_admin else None,
        refunds=refunds,
    )


def orders_needing_attention(session: Session, page: PageRequest) -> PageResult[Order]:
    """Orders whose payment an admin must look at (a mismatch, a late payment refunded)."""
    query = (
        select(Order)
        .where(Order.payment_issue.is_not(None))
        .order_by(Order.updated_at.desc(), Order.id.desc())
    )
    return paginate(session, query, page)


def card_digits(raw: str) -> str:
    """The digits of a typed card number (spaces and dashes allowed); InvalidInput if it
    is not one."""
    digits = raw.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19 or not _luhn(digits):
        raise InvalidInput("That is not a card number.", loc=["body", "card_number"])
    if digits not in {card.number for card in TEST_CARDS}:
        cards = ", ".join(f"{c.number} ({c.outcome})" for c in TEST_CARDS)
        raise InvalidInput(
            f"This shop is in test mode and takes only Stripe's test cards: {cards}.",
            loc=["body", "card_number"],
        )
    return digits


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def pay_with_test_card(
    session: Session, order_id: int, viewer: Viewer, card_number: str
) -> PaymentState:
    """Test mode: pay the caller's order with a test card; its event goes through the
    webhook code like Stripe's would."""
    digits = card_digits(card_number)
    provider, order = _test_mode_order(session, order_id, viewer)
    assert order.payment_intent_id is not None
    intent_secret = provider.retrieve_intent(order.payment_intent_id).client_secret or ""
    try:
        intent = provider.confirm(order.payment_intent_id, intent_secret, digits)
    except ProviderRefused as exc:
        session.rollback()
        raise Conflict(_cannot_pay(order, exc)) from exc
    return _deliver(session, provider, intent, order_id, viewer)


def authenticate_test_payment(
    session: Session, order_id: int, viewer: Viewer, *, approve: bool
) -> PaymentState:
    """Test mode: the shopper's answer to their bank's check (the 3155 card)."""
    provider, order = _test_mode_order(session, order_id, viewer)
    assert order.payment_intent_id is not None
    intent_secret = provider.retrieve_intent(order.payment_intent_id).client_secret or ""
    try:
        intent = provider.authenticate(order.payment_intent_id, intent_secret, approve=approve)
    except ProviderRefused as exc:
        session.rollback()
        raise Conflict(_cannot_pay(order, exc)) from exc
    return _deliver(session, provider, intent, order_id, viewer)


def _test_mode_order(
    session: Session, order_id: int, viewer: Viewer
) -> tuple[TestModeProvider, Order]:
    if not in_test_mode():
        raise Conflict("Test mode is off: this shop takes real payments through Stripe.")
    order = get_order(session, order_id, viewer)
    if order.user_id != viewer.user_id:
        raise NotFound("No such order.")
    if order.status not in UNPAID:
        raise Conflict(f"This order is {order.status.replace('_', ' ')}: there is nothing to pay.")
    if order.payment_intent_id is None:  # its checkout lost the provider's answer
        payments.ensure_intent(session, order)
    provider = get_provider(session)
    assert isinstance(provider, TestModeProvider)
    return provider, order


def _cannot_pay(order: Order, exc: ProviderRefused) -> str:
    if exc.state == "canceled":
        return "The time to pay for this order ran out, so it can't be paid any more."
    if exc.state == "succeeded":
        return "This order is already paid."
    return exc.message


def _deliver(
    session: Session, provider: TestModeProvider, intent: Any, order_id: int, viewer: Viewer
) -> PaymentState:
    """Commit the intent's new state (as Stripe's side), then send its signed event through
    the webhook code."""
    last_error = provider.last_error(intent.id)
    session.commit()
    payload, signature = signed(intent_event(intent, last_error=last_error))
    payment_events.handle_webhook(session, payload, signature)
    return payment_state(session, order_id, viewer)
