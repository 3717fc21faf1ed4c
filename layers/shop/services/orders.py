"""Orders: checkout that never oversells and starts the payment, status moves, and
cancellation that returns stock once (and refunds a paid order).

Lock order, everywhere: the user's cart row (checkout) or the order row (status moves), then
products by ascending id. Two transactions therefore never wait on each other in a cycle.
The status machine itself is `shop.services.order_status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from shop.behavior import record_event
from shop.coltypes import utcnow
from shop.errors import Conflict, NotFound
from shop.models import (
    CartItem,
    InventoryMovement,
    Order,
    OrderItem,
    OrderStatusChange,
    Product,
)
from shop.pagination import PageRequest, PageResult, paginate
from shop.payments import get_provider
from shop.services import coupons, idempotency, payments
from shop.services.cart import lock_cart
from shop.services.order_status import (
    ADMIN_MOVES,
    PAID_NOT_SHIPPED,
    UNPAID,
    WHY_NOT_BY_HAND,
    Actor,
    lock_order,
    move,
    require_move,
    restock,
)

CHECKOUT_SCOPE = "checkout"


@dataclass(frozen=True)
class Viewer:
    """Who is asking: owners see their own orders, admins see all."""

    user_id: int
    is_admin: bool = False

    def actor_for(self, order: Order) -> Actor:
        """The history's actor: the order's own shopper, else an admin."""
        if order.user_id == self.user_id:
            return Actor("shopper", self.user_id)
        return Actor("admin", self.user_id)


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    #: True when a retry of an earlier request returned its order instead of placing one.
    replayed: bool
    #: What the checkout page needs to take payment (None once the order is not unpaid).
    payment: payments.PaymentStart | None = None


def _with_details() -> Any:
    return (selectinload(Order.items), selectinload(Order.status_history))


def get_order(session: Session, order_id: int, viewer: Viewer) -> Order:
    """The order with lines and history; NotFound unless the viewer owns it or is an admin."""
    order = session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(*_with_details())
        .execution_options(populate_existing=True)
    )
    if order is None or (order.user_id != viewer.user_id and not viewer.is_admin):
        raise NotFound("No such order.")
    return order


def list_orders(
    session: Session,
    viewer: Viewer,
    page: PageRequest,
    *,
    status: str | None = None,
    all_users: bool = False,
) -> PageResult[Order]:
    """A page of orders, newest first: the viewer's own, or everyone's for an admin asking."""
    query = (
        select(Order).options(*_with_details()).order_by(Order.created_at.desc(), Order.id.desc())
    )
    if not (all_users and viewer.is_admin):
        query = query.where(Order.user_id == viewer.user_id)
    if status is not None:
        query = query.where(Order.status == status)
    return paginate(session, query, page)


def place_order(
    session: Session,
    user_id: int,
    shipping_address: dict[str, Any],
    *,
    idempotency_key: str,
    coupon_code: str | None = None,
) -> PlacedOrder:
    """Turn the user's cart into an order, once per idempotency key.

    A retry with the same key and address returns the first order (`replayed`); the same key
    with another address is InvalidInput; one racing the first request is Conflict.

    The order is committed `awaiting_payment` (stock held) before its PaymentIntent is asked
    for, so no lock is held while the provider answers. If it does not answer, the order
    stays and Unavailable says so; the retry (same key) gets the intent the provider made.
    """
    request: dict[str, Any] = {"shipping_address": shipping_address}
    if coupon_code is not None:  # absent, not null: keys of requests without one hash as before
        request["coupon_code"] = coupons.normalize_code(coupon_code)
    digest = idempotency.request_hash(request)
    claim = idempotency.claim(session, user_id, idempotency_key, digest, scope=CHECKOUT_SCOPE)
    if claim.is_replay:
        assert claim.order_id is not None
        order = get_order(session, claim.order_id, Viewer(user_id))
        return PlacedOrder(order, replayed=True, payment=payments.ensure_intent(session, order))
    assert claim.record_id is not None
    try:
        order = _checkout(session, user_id, shipping_address, coupon_code=coupon_code)
        payments.prepare(session, order, order.created_at)
        idempotency.complete(session, claim.record_id, order_id=order.id, status=201)
        session.commit()
    except BaseException:
        idempotency.release(session, claim.record_id)
        raise
    # The order, its lines and history are all in memory (nothing expires on commit): no need
    # to read them back.
    return PlacedOrder(order, replayed=False, payment=payments.ensure_intent(session, order))


def _checkout(
    session: Session,
    user_id: int,
    shipping_address: dict[str, Any],
    *,
    coupon_code: str | None = None,
) -> Order:
    """Place the order from the user's cart in the session's transaction (not committed)."""
    now = utcnow()
    # Locking the cart row first serializes two checkouts of one cart: the second then
    # finds the cart already emptied.
    cart_id = lock_cart(session, user_id, create=False)
    lines = (
        session.execute(
            select(CartItem.product_id, CartItem.quantity, Product.name, Product.price)
            .join(Product, Product.id == CartItem.product_id)
            .where(CartItem.cart_id == cart_id)
            .order_by(CartItem.product_id)
        ).all()
        if cart_id is not None
        else []
    )
    if not lines:
        raise Conflict("Your cart is empty: add products before checking out.")
    wanted = {line.product_id: line.quantity for line in lines}
    # Stock before any order row: the order lines' foreign-key checks take shared locks on
    # the products on MariaDB, which must already be ours, or two checkouts deadlock.
    stock_after = _take_stock(session, wanted)
    order = Order(
        user_id=user_id,
        status="awaiting_payment",
        item_count=sum(wanted.values()),
        shipping_address=shipping_address,
        created_at=now,
        updated_at=now,
    )
    order.items = [
        OrderItem(
            product_id=line.product_id,
            name=line.name,
            unit_price=line.price,
            quantity=line.quantity,
            line_total=line.price * line.quantity,
        )
        for line in lines
    ]
    order.subtotal = sum((item.line_total for item in order.items), Decimal("0.00"))
    order.total = order.subtotal  # no shipping fees or taxes yet: total equals subtotal
    if coupon_code is not None:  # one coupon an order: sets discount and total, counts the use
        coupons.redeem_for_order(session, order, coupon_code)
    order.status_history.append(
        OrderStatusChange(status="awaiting_payment", at=now, actor_id=user_id, actor_kind="shopper")
    )
    session.add(order)
    session.flush()
    session.add_all(
        InventoryMovement(
            product_id=product_id,
            delta=-quantity,
            stock_after=stock_after[product_id],
            reason=f"order {order.id}",
            actor_id=user_id,
        )
        for product_id, quantity in sorted(wanted.items())
    )
    # By the cart id (an index range of this cart only): a subquery here makes MariaDB scan
    # and lock every cart's lines, and concurrent checkouts then deadlock.
    session.execute(
        delete(CartItem)
        .where(CartItem.cart_id == cart_id)
        .execution_options(synchronize_session=False)
    )
    record_event(
        session,
        "checkout",
        user_id=user_id,
        payload={
            "order_id": order.id,
            "total": str(order.total),
            "item_count": order.item_count,
            "product_ids": sorted(wanted),
        },
    )
    return order


def _take_stock(session: Session, wanted: dict[int, int]) -> dict[int, int]:
    """Decrement each product's stock by conditional UPDATE, in product-id order; stock left.

    A row changes only if the product is active and has enough units, so stock can never go
    below zero whatever runs concurrently; ascending ids mean two checkouts never wait on
    each other in a cycle. Conflict names every product that falls short.
    """
    returning = session.get_bind().dialect.update_returning  # MariaDB has no UPDATE RETURNING
    stock_after: dict[int, int] = {}
    short: list[int] = []
    for product_id in sorted(wanted):
        statement = (
            update(Product)
            .where(
                Product.id == product_id,
                Product.is_active.is_(True),
                Product.stock >= wanted[product_id],
            )
            .values(stock=Product.stock - wanted[product_id])
            .execution_options(synchronize_session=False)
        )
        if returning:
            left = session.execute(statement.returning(Product.stock)).scalar_one_or_none()
            if left is None:
                short.append(product_id)
            else:
                stock_after[product_id] = left
        elif session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
            short.append(product_id)
    if short:
        _refuse_short(session, wanted, short)
    if not returning:  # our own UPDATEs locked these rows: a plain read sees their new stock
        stock_after = dict(
            session.execute(select(Product.id, Product.stock).where(Product.id.in_(wanted))).all()
        )
    return stock_after


def _refuse_short(session: Session, wanted: dict[int, int], short: list[int]) -> NoReturn:
    """Raise Conflict naming each product in `short`, with why and how many are left."""
    rows = session.execute(
        select(Product.id, Product.name, Product.stock, Product.is_active)
        .where(Product.id.in_(short))
        .order_by(Product.id)
    ).all()
    problems = [
        {
            "product_id": pid,
            "name": name,
            "requested": wanted[pid],
            "stock": stock if active else 0,
            "reason": "not enough stock" if active else "no longer sold",
        }
        for pid, name, stock, active in rows
    ]
    names = ", ".join(
        f"{p['name']} ({p['reason']}: {p['stock']} left, {p['requested']} wanted)" for p in problems
    )
    raise Conflict(f"Cannot check out: {names}.", extra={"products": problems})


def change_status(session: Session, order_id: int, new_status: str, actor: Viewer) -> Order:
    """The order after an admin's move to shipped, delivered or cancelled; Conflict otherwise.

    Payment states come from the provider and the shop only: setting one by hand is a 409
    that says why.
    """
    if new_status == "cancelled":
        return cancel_order(session, order_id, actor)
    order = get_order(session, order_id, actor)
    if new_status not in ADMIN_MOVES:
        reason = WHY_NOT_BY_HAND.get(new_status, f"{new_status} can't be set by hand.")
        raise Conflict(
            reason.replace("{id}", str(order_id)),
            extra={"status": order.status, "settable": list(ADMIN_MOVES)},
        )
    require_move(order.status, new_status)
    locked = lock_order(session, order_id)
    assert locked is not None
    move(session, locked, new_status, actor.actor_for(locked))
    session.commit()
    return get_order(session, order_id, actor)


def cancel_order(session: Session, order_id: int, actor: Viewer) -> Order:
    """The cancelled order, its stock returned exactly once even if cancels race.

    An unpaid order's PaymentIntent is cancelled first (409 if the payment just got
    through); a paid order that has not shipped is refunded in full and ends `refunded`.
    """
    get_order(session, order_id, actor)  # 404 for anyone but its owner or an admin
    order = lock_order(session, order_id)
    assert order is not None
    who = actor.actor_for(order)
    if order.status in UNPAID:
        payments.cancel_intent(session, get_provider(session), order)
        move(session, order, "cancelled", who)
        restock(session, order_id, f"order {order_id} cancelled", who)
    elif order.status in PAID_NOT_SHIPPED:
        payments.refund_locked(
            session,
            order,
            amount=None,
            actor=who,
            request_key="cancel",
            reason="order cancelled",
        )
    else:
        require_move(order.status, "cancelled")
    record_event(
        session,
        "order_cancel",
        user_id=order.user_id,
        payload={
            "order_id": order_id,
            "total": str(order.total),
            "by_admin": actor.user_id != order.user_id,
        },
    )
    session.commit()
    return get_order(session, order_id, actor)
