"""The payment side of an order: its PaymentIntent (made once), refunds, and what the
storefront shows about it. The provider is called with no lock held at checkout, and with
the order row locked when a cancel, refund or expiry depends on the provider's answer.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shop.errors import Conflict, InvalidInput, NotFound, Unavailable
from shop.logging import get_logger
from shop.models import Order, PaymentRefund
from shop.payments import PaymentProvider, get_provider, in_test_mode
from shop.payments.provider import ProviderRefused, ProviderUnavailable, to_minor
from shop.services.order_status import (
    PAID,
    PAID_NOT_SHIPPED,
    SYSTEM,
    UNPAID,
    Actor,
    lock_order,
    move,
    restock,
)
from shop.settings import get_settings

PROVIDER_DOWN = "The payment service did not answer; try again in a minute."


@dataclass(frozen=True)
class PaymentStart:
    """What the checkout page needs to take payment for an unpaid order."""

    provider: str
    test_mode: bool
    payment_intent_id: str
    client_secret: str | None
    publishable_key: str | None
    amount: Decimal
    currency: str


def prepare(session: Session, order: Order, now: datetime) -> None:
    """Give a new order its currency, provider, idempotency part and hold (not committed).

    An order with nothing to pay (a total of 0) is paid at once, by the shop: there is no
    payment for a provider to confirm.
    """
    settings = get_settings()
    order.currency = settings.shop_currency.upper()
    order.payment_provider = "test_mode" if in_test_mode() else "stripe"
    order.payment_ref = uuid.uuid4().hex
    order.hold_until = now + timedelta(minutes=settings.payment_hold_minutes)
    if order.total <= 0:
        move(session, order, "paid", SYSTEM)
        order.paid_at = now


def provider_key(order: Order, purpose: str) -> str:
    """The provider idempotency key for one operation on `order` (same order, same key)."""
    return f"shopfn-{order.id}-{order.payment_ref}-{purpose}"


def ensure_intent(session: Session, order: Order) -> PaymentStart | None:
    """The unpaid order's PaymentIntent, created at the provider once; None once paid.

    A retry after a timeout asks again with the same idempotency key, so it gets the intent
    the first attempt made (if it made one) instead of a second. Commits the intent's id.
    """
    if order.status not in UNPAID or order.payment_ref is None or order.currency is None:
        return None
    provider = get_provider(session)
    try:
        if order.payment_intent_id is not None:
            intent = provider.retrieve_intent(order.payment_intent_id)
        else:
            intent = provider.create_intent(
                amount=to_minor(order.total, order.currency),
                currency=order.currency,
                metadata={"order_id": str(order.id), "payment_ref": order.payment_ref},
                idempotency_key=provider_key(order, "intent"),
            )
            session.execute(
                update(Order)
                .where(Order.id == order.id, Order.payment_intent_id.is_(None))
                .values(payment_intent_id=intent.id)
                .execution_options(synchronize_session=False)
            )
            session.commit()
            order.payment_intent_id = intent.id
    except ProviderRefused as exc:  # e.g. an amount below the provider's minimum
        session.rollback()
        _give_up(session, order.id)
        raise Conflict(
            f"The payment service refused this order ({exc.message}), so it was cancelled "
            "and its items went back to stock.",
            extra={"order_id": order.id},
        ) from exc
    except ProviderUnavailable as exc:
        session.rollback()
        raise Unavailable(
            f"The payment service did not answer. Your order {order.id} is saved and its items "
            "are held: send the same request again (same Idempotency-Key) to go on to payment.",
            extra={"order_id": order.id, "retryable": True},
        ) from exc
    return PaymentStart(
        provider=provider.name,
        test_mode=provider.test_mode,
        payment_intent_id=intent.id,
        client_secret=intent.client_secret,
        publishable_key=provider.publishable_key,
        amount=order.total,
        currency=order.currency,
    )


def _give_up(session: Session, order_id: int) -> None:
    """Cancel an order whose payment the provider refused to create (stock back)."""
    order = lock_order(session, order_id)
    if order is not None and order.status in UNPAID:
        move(session, order, "cancelled", SYSTEM)
        restock(session, order_id, f"order {order_id} cancelled: payment refused", SYSTEM)
    session.commit()


def cancel_intent(session: Session, provider: PaymentProvider, order: Order) -> None:
    """Cancel a locked unpaid order's intent; Conflict if the payment got through first."""
    cancel_intent_id(provider, order.payment_intent_id)


def cancel_intent_id(provider: PaymentProvider, intent_id: str | None) -> None:
    """`cancel_intent` by the intent's id (None: the order has no intent, nothing to do)."""
    if intent_id is None:
        return
    try:
        provider.cancel_intent(intent_id)
    except ProviderUnavailable as exc:
        raise Unavailable(PROVIDER_DOWN, extra={"retryable": True}) from exc
    except ProviderRefused as exc:
        if exc.state == "canceled":
            return
        if exc.state in ("succeeded", "processing", "requires_capture"):
            raise Conflict(
                "The payment for this order has just gone through, so it can't be cancelled "
                "as unpaid. Wait a moment and cancel it again to get a refund.",
                extra={"payment": exc.state},
            ) from exc
        raise Unavailable(f"The payment service refused: {exc.message}") from exc


@dataclass(frozen=True)
class RefundDone:
    refund: PaymentRefund
    replayed: bool


def refund_locked(
    session: Session,
    order: Order,
    *,
    amount: Decimal | None,
    actor: Actor,
    request_key: str,
    reason: str,
) -> RefundDone:
    """Refund `amount` (None: all that is left) of a locked, paid order (not committed).

    The same `request_key` again returns the first refund. Moves the order to refunded
    (returning its stock if it was not shipped) or partially_refunded.
    """
    earlier = session.scalar(
        select(PaymentRefund).where(
            PaymentRefund.order_id == order.id, PaymentRefund.request_key == request_key
        )
    )
    if earlier is not None:
        if amount is not None and amount != earlier.amount:
            raise InvalidInput(
                "This Idempotency-Key was already used for a refund of another amount; "
                "use a new key for a new refund.",
                loc=["header", "Idempotency-Key"],
            )
        return RefundDone(earlier, replayed=True)
    left = order.total - order.refunded_total
    if order.status not in PAID or left <= 0:
        raise Conflict(
            f"Only paid orders with money left to refund can be refunded; this one is "
            f"{order.status}.",
            extra={"status": order.status},
        )
    if order.payment_intent_id is None or order.currency is None:
        raise Conflict(
            "This order was not paid through the shop's payment provider; refund it where "
            "it was paid."
        )
    amount = left if amount is None else amount
    if amount > left:
        raise InvalidInput(f"At most {left} {order.currency} is left to refund.", loc=["amount"])
    refund = _provider_refund(session, order, amount, request_key)
    row = PaymentRefund(
        order_id=order.id,
        request_key=request_key,
        provider_refund_id=refund,
        amount=amount,
        reason=reason,
        actor_kind=actor.kind,
        actor_id=actor.user_id,
    )
    session.add(row)
    was_shipped = order.status not in PAID_NOT_SHIPPED
    order.refunded_total = order.refunded_total + amount
    if order.refunded_total >= order.total:
        move(session, order, "refunded", actor)
        if not was_shipped:
            restock(session, order.id, f"order {order.id} refunded", actor)
    elif order.status == "paid":
        move(session, order, "partially_refunded", actor)
    return RefundDone(row, replayed=False)


def refund_order(
    session: Session,
    order_id: int,
    *,
    amount: Decimal | None,
    admin_id: int,
    request_key: str,
    reason: str,
) -> RefundDone:
    """An admin's refund of part (or, with None, all that is left) of a paid order, once
    per `request_key`."""
    order = lock_order(session, order_id)
    if order is None:
        raise NotFound("No such order.")
    done = refund_locked(
        session,
        order,
        amount=amount,
        actor=Actor("admin", admin_id),
        request_key=f"admin:{hashlib.sha256(request_key.encode()).hexdigest()[:40]}",
        reason=reason,
    )
    session.commit()
    return done


def refund_late_payment(session: Session, order: Order, actor: Actor) -> None:
    """Refund all of a payment that arrived after the locked order expired or was cancelled.

    Its stock went back when it ended; the order becomes `refunded` (not committed).
    """
    refund = _provider_refund(session, order, order.total, "late-payment")
    session.add(
        PaymentRefund(
            order_id=order.id,
            request_key="late-payment",
            provider_refund_id=refund,
            amount=order.total,
            reason="paid after the order ended",
            actor_kind=actor.kind,
            actor_id=actor.user_id,
        )
    )
    order.refunded_total = order.total
    move(session, order, "refunded", actor)


def _provider_refund(session: Session, order: Order, amount: Decimal, request_key: str) -> str:
    """The provider's refund id for `amount` of the order's payment."""
    assert order.payment_intent_id is not None and order.currency is not None
    digest = hashlib.sha256(request_key.encode()).hexdigest()[:32]
    try:
        refund = get_provider(session).refund(
            order.payment_intent_id,
            amount=to_minor(amount, order.currency),
            idempotency_key=provider_key(order, f"refund-{digest}"),
        )
    except ProviderUnavailable as exc:
        raise Unavailable(PROVIDER_DOWN, extra={"retryable": True}) from exc
    except ProviderRefused as exc:
        get_logger().warning("refund refused", extra={"order_id": order.id, "code": exc.code})
        raise Conflict(f"The payment service refused the refund: {exc.message}") from exc
    return refund.id


__all__ = [
    "UNPAID",
    "PaymentStart",
    "RefundDone",
    "cancel_intent",
    "ensure_intent",
    "prepare",
    "provider_key",
    "refund_late_payment",
    "refund_locked",
    "refund_order",
]
