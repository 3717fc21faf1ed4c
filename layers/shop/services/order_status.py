"""An order's status machine: where each status may go, who moves it, and the bookkeeping
every move shares (the history row, the stock a cancelled order returns).

Lock order, everywhere: the order row (`lock_order`), then products by ascending id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import case, insert, inspect, select, update
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import Conflict
from shop.models import InventoryMovement, Order, OrderItem, OrderStatusChange, Product

ActorKind = Literal["shopper", "admin", "provider", "system"]

#: Where each status may go next; everything else is refused with 409.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "awaiting_payment": ("paid", "payment_failed", "expired", "cancelled"),
    # The shopper may try another card until the hold ends.
    "payment_failed": ("paid", "expired", "cancelled"),
    "paid": ("shipped", "partially_refunded", "refunded"),
    "partially_refunded": ("shipped", "refunded"),
    "shipped": ("delivered", "refunded"),
    "delivered": ("refunded",),
    # A payment that arrives after the order expired or was cancelled is refunded at once.
    "expired": ("refunded",),
    "cancelled": ("refunded",),
    "refunded": (),
}
#: Unpaid: the order holds its stock until it is paid, expires or is cancelled.
UNPAID: tuple[str, ...] = ("awaiting_payment", "payment_failed")
#: Money was taken and is (at least partly) kept.
PAID: tuple[str, ...] = ("paid", "partially_refunded", "shipped", "delivered")
#: Paid but not shipped: cancelling refunds the rest and returns the stock.
PAID_NOT_SHIPPED: tuple[str, ...] = ("paid", "partially_refunded")
#: Moves an admin makes by hand (PATCH /orders/{id}/status); the rest come from payments.
ADMIN_MOVES: tuple[str, ...] = ("shipped", "delivered", "cancelled")
WHY_NOT_BY_HAND: dict[str, str] = {
    "paid": "An order becomes paid only when the payment provider confirms the payment; "
    "it can't be set by hand.",
    "awaiting_payment": "Orders start awaiting payment at checkout; it can't be set by hand.",
    "payment_failed": "Only the payment provider reports a failed payment.",
    "expired": "Unpaid orders expire by themselves when their hold ends.",
    "refunded": "Refund the order instead: cancel it, or POST /payments/orders/{id}/refunds.",
    "partially_refunded": "Refund part of the order with POST /payments/orders/{id}/refunds.",
}

#: Each status in plain words, for shoppers (the assistant, the storefront).
STATUS_WORDS: dict[str, str] = {
    "awaiting_payment": "waiting for payment",
    "payment_failed": "payment failed",
    "paid": "paid",
    "shipped": "shipped",
    "delivered": "delivered",
    "expired": "not paid in time",
    "cancelled": "cancelled",
    "partially_refunded": "partly refunded",
    "refunded": "refunded",
}


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a shopper or admin (with their id), the provider, or the shop."""

    kind: ActorKind
    user_id: int | None = None


PROVIDER = Actor("provider")
SYSTEM = Actor("system")


def require_move(current: str, new_status: str) -> None:
    """Conflict (409) naming the allowed moves unless `current` may become `new_status`."""
    allowed = TRANSITIONS.get(current, ())
    if new_status not in allowed:
        moves = ", ".join(allowed) if allowed else "none (final status)"
        raise Conflict(
            f"An order that is {current} cannot become {new_status}; allowed: {moves}.",
            extra={"status": current, "allowed": list(allowed)},
        )


def lock_order(session: Session, order_id: int) -> Order | None:
    """The order, its row write-locked for this transaction (None if there is none).

    PostgreSQL and MariaDB lock it with SELECT ... FOR UPDATE (one round trip). SQLite has
    no row locks: touching the row takes its write lock, as `shop.services.cart.lock_cart`
    does for carts.
    """
    query = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name != "sqlite":
        return session.scalar(query.with_for_update())
    touched = session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if touched.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalar(query)


def move(session: Session, order: Order, new_status: str, actor: Actor) -> None:
    """Set a locked order's status and add its history row (the caller commits)."""
    require_move(order.status, new_status)
    now = utcnow()
    order.status = new_status
    order.updated_at = now
    change = OrderStatusChange(
        order_id=order.id, status=new_status, at=now, actor_id=actor.user_id, actor_kind=actor.kind
    )
    if "status_history" in inspect(order).dict:  # loaded: keep what callers return in step
        order.status_history.append(change)
    else:  # never load the history just to add to it (the webhook's hot path)
        session.add(change)


def restock(session: Session, order_id: int, reason: str, actor: Actor) -> None:
    """Return an order's units to stock (see `return_stock`)."""
    lines = session.execute(
        select(OrderItem.product_id, OrderItem.quantity).where(
            OrderItem.order_id == order_id, OrderItem.quantity > 0
        )
    ).all()
    return_stock(session, [(product_id, quantity) for product_id, quantity in lines], reason, actor)


def return_stock(
    session: Session, lines: Sequence[tuple[int, int]], reason: str, actor: Actor
) -> None:
    """Add `lines` (product id, units) back to stock, with one movement row each.

    A few round trips whatever the number of lines: the products are locked in ascending id
    order first (the lock order checkout keeps, so no deadlock), then one UPDATE adds every
    line's units, then one INSERT writes the movements.
    """
    units: dict[int, int] = {}
    for product_id, quantity in lines:
        if quantity > 0:
            units[product_id] = units.get(product_id, 0) + quantity
    if not units:
        return
    ids = sorted(units)
    dialect = session.get_bind().dialect
    products: Any = Product.__table__
    movement_table: Any = InventoryMovement.__table__
    if len(ids) > 1 and dialect.name != "sqlite":  # SQLite: the writer already holds it all
        session.execute(
            select(products.c.id)
            .where(products.c.id.in_(ids))
            .order_by(products.c.id)
            .with_for_update()
        )
    added = (
        products.c.stock + case(units, value=products.c.id)
        if len(ids) > 1
        else products.c.stock + units[ids[0]]
    )
    statement = update(products).where(products.c.id.in_(ids)).values(stock=added)
    after: dict[int, int]
    if dialect.update_returning:
        after = dict(session.execute(statement.returning(products.c.id, products.c.stock)).all())
    else:
        session.execute(statement)
        after = dict(
            session.execute(
                select(products.c.id, products.c.stock).where(products.c.id.in_(ids))
            ).all()
        )
    now = utcnow()
    movements = [
        {
            "product_id": product_id,
            "delta": units[product_id],
            "stock_after": after.get(product_id) or 0,
            "reason": reason,
            "actor_id": actor.user_id,
            "created_at": now,
        }
        for product_id in ids
    ]
    session.execute(insert(movement_table), movements if len(movements) > 1 else movements[0])
