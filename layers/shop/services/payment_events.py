"""Provider events (Stripe's webhook, or the test mode's): verified, then applied once.

The signature is checked by the Stripe SDK on the raw body with its timestamp tolerance;
anything that fails is BadRequest and changes nothing. An event is applied with its order's
row locked and recorded by id in the same transaction, so a redelivery (even a concurrent
one) finds it handled. Each event moves the order only forward from where it is now, which
is how events arriving out of order still end in the right state, one change each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import BadRequest, Unavailable
from shop.logging import get_logger
from shop.models import Order, PaymentEvent
from shop.payments import PaymentProvider, get_provider
from shop.payments.provider import ProviderUnavailable, to_minor
from shop.services import payments
from shop.services.order_status import PROVIDER, SYSTEM, UNPAID, lock_order, move

#: Event types that can move an order; others are recorded as ignored.
INTENT_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.canceled",
)


@dataclass(frozen=True)
class Handled:
    """What became of one event: `outcome` is applied, unchanged, ignored, refused or
    refunded; `duplicate` when it had been handled before."""

    event_id: str
    event_type: str
    outcome: str
    order_id: int | None
    duplicate: bool = False


def verify(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The event in `payload`, if `signature` is Stripe's for it; BadRequest otherwise."""
    import stripe

    if not signature:
        raise BadRequest("The Stripe-Signature header is missing.")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as exc:
        raise BadRequest(
            "The Stripe-Signature header does not match this body, or it is too old."
        ) from exc
    except (ValueError, AttributeError, TypeError, KeyError) as exc:
        # Not UTF-8, not JSON, or JSON that is not an object: the SDK trips over each.
        raise BadRequest("The webhook body is not a JSON event.") from exc
    data = event.to_dict() if hasattr(event, "to_dict") else dict(event)
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise BadRequest("The webhook body is not a Stripe event (no id or type).")
    return data


def handle_webhook(session: Session, payload: bytes, signature: str | None) -> Handled:
    """Verify and apply one webhook delivery."""
    provider = get_provider(session)
    try:
        secret = provider.webhook_secret()
    except ProviderUnavailable as exc:
        get_logger().error("webhook received but STRIPE_WEBHOOK_SECRET is not set")
        raise Unavailable("The payment webhook is not set up yet.") from exc
    return apply_event(session, provider, verify(payload, signature, secret))


def apply_event(session: Session, provider: PaymentProvider, event: dict[str, Any]) -> Handled:
    """Apply a verified event to its order, once (commits)."""
    event_id, event_type = event["id"], event["type"]
    intent = ((event.get("data") or {}).get("object")) or {}
    order_id = _order_id(intent) if event_type in INTENT_EVENTS else None
    order = lock_order(session, order_id) if order_id is not None else None
    if _seen(session, event_id):
        session.rollback()
        return Handled(event_id, event_type, "unchanged", order_id, duplicate=True)
    if order is None or not _belongs(order, intent):
        return _record(session, event, "ignored", order_id, "no order of ours")
    outcome, detail = _apply(session, provider, order, event_type, intent)
    return _record(session, event, outcome, order.id, detail)


def _order_id(intent: dict[str, Any]) -> int | None:
    raw = (intent.get("metadata") or {}).get("order_id")
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _belongs(order: Order, intent: dict[str, Any]) -> bool:
    """The intent is this order's: its saved id, or (before the id was saved) its ref."""
    if order.payment_intent_id is not None:
        return bool(order.payment_intent_id == intent.get("id"))
    ref = (intent.get("metadata") or {}).get("payment_ref")
    if order.payment_ref is None or ref != order.payment_ref:
        return False
    order.payment_intent_id = str(intent.get("id"))
    return True


def _apply(
    session: Session,
    provider: PaymentProvider,
    order: Order,
    event_type: str,
    intent: dict[str, Any],
) -> tuple[str, str | None]:
    if event_type == "payment_intent.succeeded":
        return _succeeded(session, order, intent)
    if event_type == "payment_intent.payment_failed":
        if order.status not in UNPAID:
            return "unchanged", f"order is {order.status}"
        error = (intent.get("last_payment_error") or {}).get("message")
        order.payment_error = (error or "The payment failed.")[:500]
        if order.status == "awaiting_payment":
            move(session, order, "payment_failed", PROVIDER)
            return "applied", None
        return "unchanged", "already payment_failed"
    return "unchanged", f"order is {order.status}"


def _succeeded(session: Session, order: Order, intent: dict[str, Any]) -> tuple[str, str | None]:
    """Paid, unless the amount is wrong (refused, for an admin) or the order is over
    (expired or cancelled: refunded at once)."""
    assert order.currency is not None
    received = intent.get("amount_received", intent.get("amount"))
    expected = to_minor(order.total, order.currency)
    currency = str(intent.get("currency", "")).lower()
    if received != expected or currency != order.currency.lower():
        issue = (
            f"A payment of {received} {currency.upper()} (smallest units) was reported, but the "
            f"order is {expected} {order.currency}: not marked paid. Check it in the payment "
            "provider's dashboard and refund it there."
        )
        order.payment_issue = issue
        get_logger().warning("payment amount mismatch", extra={"order_id": order.id})
        return "refused", "amount or currency mismatch"
    if order.status in UNPAID:
        move(session, order, "paid", PROVIDER)
        order.paid_at = utcnow()
        order.payment_error = None
        return "applied", None
    if order.status in ("expired", "cancelled"):
        was = order.status
        payments.refund_late_payment(session, order, SYSTEM)
        order.payment_issue = f"Paid after it was {was}; the payment was refunded in full."
        return "refunded", f"late payment for a {was} order"
    return "unchanged", f"order is {order.status}"


def _seen(session: Session, event_id: str) -> bool:
    return (
        session.scalar(select(PaymentEvent.id).where(PaymentEvent.event_id == event_id)) is not None
    )


def _record(
    session: Session, event: dict[str, Any], outcome: str, order_id: int | None, detail: str | None
) -> Handled:
    """Store the event as handled and commit with whatever applying it changed."""
    session.add(
        PaymentEvent(
            event_id=event["id"],
            event_type=event["type"][:100],
            order_id=order_id,
            outcome=outcome,
            detail=detail,
        )
    )
    try:
        session.commit()
    except IntegrityError:  # a concurrent delivery of an event with no order won the insert
        session.rollback()
        return Handled(event["id"], event["type"], "unchanged", order_id, duplicate=True)
    return Handled(event["id"], event["type"], outcome, order_id)


__all__ = ["INTENT_EVENTS", "Handled", "apply_event", "handle_webhook", "payments", "verify"]
