"""The shopping cart: one per user, priced from the live catalog, checked against stock."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.behavior import RecommendationSource, record_event
from shop.cart_limits import MAX_CART_LINES, MAX_LINE_QUANTITY
from shop.coltypes import utcnow
from shop.errors import Conflict, InvalidInput, NotFound
from shop.models import Cart, CartItem, Product


@dataclass(frozen=True)
class CartLine:
    product_id: int
    name: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    #: False when the product was deactivated or has fewer units left than the line wants.
    available: bool
    is_active: bool
    stock: int


@dataclass(frozen=True)
class CartView:
    items: list[CartLine]
    subtotal: Decimal
    item_count: int

    @property
    def checkout_blockers(self) -> list[CartLine]:
        return [line for line in self.items if not line.available]


def view_cart(session: Session, user_id: int) -> CartView:
    """The user's cart priced at today's catalog prices (an empty view if there is none)."""
    rows = session.execute(
        select(CartItem.product_id, CartItem.quantity, Product)
        .join(Cart, Cart.id == CartItem.cart_id)
        .join(Product, Product.id == CartItem.product_id)
        .where(Cart.user_id == user_id)
        .order_by(CartItem.id)
    ).all()
    lines = [
        CartLine(
            product_id=product_id,
            name=product.name,
            unit_price=product.price,
            quantity=quantity,
            line_total=product.price * quantity,
            available=product.is_active and product.stock >= quantity,
            is_active=product.is_active,
            stock=product.stock,
        )
        for product_id, quantity, product in rows
    ]
    return CartView(
        items=lines,
        subtotal=sum((line.line_total for line in lines), Decimal("0.00")),
        item_count=sum(line.quantity for line in lines),
    )


def lock_cart(session: Session, user_id: int, *, create: bool) -> int | None:
    """The user's cart id, its row write-locked for this transaction (created if asked).

    Touching the row serializes every change to one user's cart, including checkout, on all
    three backends (SQLite takes its write lock, the others a row lock).
    """
    for _attempt in range(2):
        touch = (
            update(Cart)
            .where(Cart.user_id == user_id)
            .values(updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if session.get_bind().dialect.update_returning:  # one round trip instead of two
            cart_id = session.execute(touch.returning(Cart.id)).scalar_one_or_none()
            if cart_id is not None:
                return cart_id
        elif session.execute(touch).rowcount:  # type: ignore[attr-defined]
            return session.scalar(select(Cart.id).where(Cart.user_id == user_id))
        if not create:
            return None
        try:
            with session.begin_nested():
                cart = Cart(user_id=user_id)
                session.add(cart)
            return cart.id
        except IntegrityError:
            continue  # another request created it just now: lock that one
    raise Conflict("The cart is busy; try again.")


def _active_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or not product.is_active:
        raise NotFound("No such product.")
    return product


def _check_stock(product: Product, wanted: int) -> None:
    if wanted > product.stock:
        raise Conflict(
            f"Only {product.stock} of {product.name!r} left in stock; cannot hold {wanted}.",
            extra={"product_id": product.id, "stock": product.stock, "requested": wanted},
        )


def add_item(
    session: Session,
    user_id: int,
    product_id: int,
    quantity: int,
    source: RecommendationSource | None = None,
) -> CartView:
    """The cart after adding `quantity` units (to the existing line, if any).

    `source` names the recommendation list the add came from, if any.
    """
    product = _active_product(session, product_id)
    cart_id = lock_cart(session, user_id, create=True)
    line = session.scalar(
        select(CartItem).where(CartItem.cart_id == cart_id, CartItem.product_id == product_id)
    )
    wanted = quantity + (line.quantity if line else 0)
    if wanted > MAX_LINE_QUANTITY:
        raise Conflict(
            f"A cart line holds at most {MAX_LINE_QUANTITY} units; this one would hold {wanted}.",
            extra={"product_id": product_id, "quantity": line.quantity if line else 0},
        )
    _check_stock(product, wanted)
    if line is None:
        lines = session.scalar(select(func.count()).where(CartItem.cart_id == cart_id)) or 0
        if lines >= MAX_CART_LINES:
            raise Conflict(f"A cart holds at most {MAX_CART_LINES} different products.")
        session.add(CartItem(cart_id=cart_id, product_id=product_id, quantity=quantity))
    else:
        line.quantity = wanted
    record_event(
        session,
        "cart_add",
        user_id=user_id,
        product_id=product_id,
        payload={"quantity": quantity, "line_quantity": wanted, "price": str(product.price)},
        source=source,
    )
    session.commit()
    return view_cart(session, user_id)


def _line(session: Session, user_id: int, product_id: int) -> CartItem:
    """The caller's line for the product, with the cart row locked; NotFound if none."""
    cart_id = lock_cart(session, user_id, create=False)
    line = session.scalar(
        select(CartItem).where(CartItem.cart_id == cart_id, CartItem.product_id == product_id)
    )
    if cart_id is None or line is None:
        raise NotFound("That product is not in your cart.")
    return line


def set_quantity(session: Session, user_id: int, product_id: int, quantity: int) -> CartView:
    """The cart after setting a line's quantity; 0 removes the line."""
    if not 0 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidInput(
            f"quantity must be between 0 and {MAX_LINE_QUANTITY}.", loc=["body", "quantity"]
        )
    line = _line(session, user_id, product_id)
    before = line.quantity
    if quantity == 0:
        session.delete(line)
    elif quantity > before:
        product = session.get(Product, product_id)
        if product is None or not product.is_active:
            raise Conflict(
                "That product is no longer sold; you can only lower or remove this line.",
                extra={"product_id": product_id},
            )
        _check_stock(product, quantity)
        line.quantity = quantity
    else:
        line.quantity = quantity
    if quantity != before:
        record_event(
            session,
            "cart_add" if quantity > before else "cart_remove",
            user_id=user_id,
            product_id=product_id,
            payload={"quantity": abs(quantity - before), "line_quantity": quantity},
        )
    session.commit()
    return view_cart(session, user_id)


def remove_item(session: Session, user_id: int, product_id: int) -> None:
    """Remove the product's line from the caller's cart; NotFound if it is not there."""
    line = _line(session, user_id, product_id)
    record_event(
        session,
        "cart_remove",
        user_id=user_id,
        product_id=product_id,
        payload={"quantity": line.quantity, "line_quantity": 0},
    )
    session.delete(line)
    session.commit()


def clear_cart(session: Session, user_id: int) -> None:
    """Empty the caller's cart (a cart_remove event per line)."""
    cart_id = lock_cart(session, user_id, create=False)
    if cart_id is None:
        session.rollback()
        return
    lines = session.execute(
        select(CartItem.product_id, CartItem.quantity).where(CartItem.cart_id == cart_id)
    ).all()
    for product_id, quantity in lines:
        record_event(
            session,
            "cart_remove",
            user_id=user_id,
            product_id=product_id,
            payload={"quantity": quantity, "line_quantity": 0, "cleared": True},
        )
    session.execute(delete(CartItem).where(CartItem.cart_id == cart_id))
    session.commit()
