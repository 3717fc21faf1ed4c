"""Orders: checkout that never oversells, status moves, cancellation that returns stock once.

Lock order, everywhere: the user's cart row (checkout) or the order row (status moves), then
products by ascending id. Two transactions therefore never wait on each other in a cycle.
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
from shop.services import coupons, idempotency
from shop.services.cart import lock_cart

#: Where each status may go next; everything else is refused with 409.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}
CANCELLABLE: tuple[str, ...] = tuple(s for s, moves in TRANSITIONS.items() if "cancelled" in moves)
CHECKOUT_SCOPE = "checkout"


@dataclass(frozen=True)
class Viewer:
    """Who is asking: owners see their own orders, admins see all."""

    user_id: int
    is_admin: bool = False


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    #: True when a retry of an earlier request returned its order instead of placing one.
    replayed: bool


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
    """
    request: dict[str, Any] = {"shipping_address": shipping_address}
    if coupon_code is not None:  # absent, not null: keys of requests without one hash as before
        request["coupon_code"] = coupons.normalize_code(coupon_code)
    digest = idempotency.request_hash(request)
    claim = idempotency.claim(session, user_id, idempotency_key, digest, scope=CHECKOUT_SCOPE)
    if claim.is_replay:
        assert claim.order_id is not None
        return PlacedOrder(get_order(session, claim.order_id, Viewer(user_id)), replayed=True)
    assert claim.record_id is not None
    try:
        order = _checkout(session, user_id, shipping_address, coupon_code=coupon_code)
        idempotency.complete(session, claim.record_id, order_id=order.id, status=201)
        session.commit()
    except BaseException:
        idempotency.release(session, claim.record_id)
        raise
    # The order, its lines and history are all in memory (nothing expires on commit): no need
    # to read them back.
    return PlacedOrder(order, replayed=False)


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
        status="pending",
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
    order.status_history.append(OrderStatusChange(status="pending", at=now, actor_id=user_id))
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
    """The order after moving it to `new_status` (cancel returns stock); Conflict otherwise."""
    if new_status == "cancelled":
        return cancel_order(session, order_id, actor)
    order = get_order(session, order_id, actor)
    current = order.status
    _require_move(current, new_status)
    now = utcnow()
    moved = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status == current)
        .values(status=new_status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return change_status(session, order_id, new_status, actor)  # re-judge the new status
    session.add(
        OrderStatusChange(order_id=order_id, status=new_status, at=now, actor_id=actor.user_id)
    )
    session.commit()
    return get_order(session, order_id, actor)


def cancel_order(session: Session, order_id: int, actor: Viewer) -> Order:
    """The cancelled order, its stock returned exactly once even if cancels race."""
    order = get_order(session, order_id, actor)
    now = utcnow()
    # Only the transaction whose conditional UPDATE matches returns the stock.
    won = session.execute(
        update(Order)
        .where(Order.id == order_id, Order.status.in_(CANCELLABLE))
        .values(status="cancelled", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        current = get_order(session, order_id, actor).status
        _require_move(current, "cancelled")
        raise Conflict("The order changed while it was being cancelled; try again.")
    items = session.execute(
        select(OrderItem.product_id, OrderItem.quantity)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.product_id)
    ).all()
    for product_id, quantity in items:
        session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity)
            .execution_options(synchronize_session=False)
        )
        stock_after = session.scalar(select(Product.stock).where(Product.id == product_id))
        session.add(
            InventoryMovement(
                product_id=product_id,
                delta=quantity,
                stock_after=stock_after or 0,
                reason=f"order {order_id} cancelled",
                actor_id=actor.user_id,
            )
        )
    session.add(
        OrderStatusChange(order_id=order_id, status="cancelled", at=now, actor_id=actor.user_id)
    )
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


def _require_move(current: str, new_status: str) -> None:
    allowed = TRANSITIONS.get(current, ())
    if new_status not in allowed:
        moves = ", ".join(allowed) if allowed else "none (final status)"
        raise Conflict(
            f"An order that is {current} cannot become {new_status}; allowed: {moves}.",
            extra={"status": current, "allowed": list(allowed)},
        )
