"""Commerce: carts, orders with their lines and status history, idempotency keys."""

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.cart_limits import MAX_LINE_QUANTITY
from shop.coltypes import BigIntPK, Money, UTCDateTime, utcnow
from shop.models.base import Base, TimestampMixin
from shop.order_statuses import ORDER_STATUSES

#: Who made a status change: the shopper, an admin, the payment provider or the shop itself.
ACTOR_KINDS: tuple[str, ...] = ("shopper", "admin", "provider", "system")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


#: The partial index of cancellations (`declare_cancellations_index`) and what it holds.
CANCELLATIONS_INDEX = "ix_order_status_changes_cancelled"
#: The changes that end an order's money (migrations 0009, 0010; shop.ml.paid).
CANCELLED_ONLY = "status IN ('cancelled', 'refunded')"


class Cart(TimestampMixin, Base):
    """A user's one shopping cart; its row is also the lock that serializes their checkouts."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)

    items: Mapped[list["CartItem"]] = relationship(
        back_populates="cart", order_by="CartItem.id", cascade="all, delete-orphan"
    )


class CartItem(Base):
    """One product in a cart; the price is read from the catalog, never stored here."""

    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False, index=True)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    cart: Mapped[Cart] = relationship(back_populates="items")

    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_items_cart_product"),
        CheckConstraint(
            f"quantity >= 1 AND quantity <= {MAX_LINE_QUANTITY}", name="quantity_range"
        ),
    )


class Order(TimestampMixin, Base):
    """A placed order: what was bought at which price, where it goes, and where it stands."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="awaiting_payment")
    subtotal: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False)
    #: Taken off by a coupon: total = subtotal - discount, never below zero.
    discount: Mapped[Decimal] = mapped_column(
        Money, nullable=False, default=Decimal("0.00"), server_default="0"
    )
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: Set on orders made by `shopfn import transactions`: a digest of the source line, so
    #: importing the same line again adds nothing (or, for a basket, of its invoice and
    #: customer, starting with "i"). Only imported returns may be negative.
    import_key: Mapped[str | None] = mapped_column(String(32), unique=True)
    # Payment (migration 0010): null on orders placed before payments or imported.
    currency: Mapped[str | None] = mapped_column(String(3))
    payment_provider: Mapped[str | None] = mapped_column(String(20))
    #: A random part of every provider idempotency key for this order, so two databases (or
    #: a restored one) never share keys with the same provider account.
    payment_ref: Mapped[str | None] = mapped_column(String(32))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: Stock is held until then; an order still unpaid after it expires.
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_total: Mapped[Decimal] = mapped_column(
        Money, nullable=False, default=Decimal("0.00"), server_default="0"
    )
    #: Why the last payment attempt failed, in the provider's words (shown to the shopper).
    payment_error: Mapped[str | None] = mapped_column(String(500))
    #: Something an admin must look at (an amount mismatch, a late payment refunded).
    payment_issue: Mapped[str | None] = mapped_column(String(500))

    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", order_by="OrderItem.product_id", cascade="all, delete-orphan"
    )
    status_history: Mapped[list["OrderStatusChange"]] = relationship(
        back_populates="order",
        order_by="OrderStatusChange.id",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        CheckConstraint(_one_of("status", ORDER_STATUSES), name="status_valid"),
        CheckConstraint(
            "(subtotal >= 0 AND total >= 0) OR import_key IS NOT NULL",
            name="amounts_non_negative_or_imported",
        ),
        CheckConstraint(
            "discount >= 0 AND (discount = 0 OR discount <= subtotal)", name="discount_in_range"
        ),
        Index("ix_orders_user_created", "user_id", "created_at"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_created", "created_at"),
        # The expiry job's walk over unpaid orders past their hold.
        Index("ix_orders_status_hold", "status", "hold_until"),
        # Covers the admin sales stats' reads of a window of orders (index-only scans).
        Index(
            "ix_orders_stats_window",
            "created_at",
            "status",
            "user_id",
            "total",
            "item_count",
            "id",
            "refunded_total",
        ),
    )


class OrderItem(Base):
    """One line of an order, with the product's name and price as they were at checkout."""

    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    line_total: Mapped[Decimal] = mapped_column(Money, nullable=False)
    #: Set on lines of baskets made by `shopfn import transactions --invoice-column`: the
    #: source line's digest (the order then holds the basket's key), so a line imported
    #: before is never added to its basket again.
    import_key: Mapped[str | None] = mapped_column(String(32), unique=True)

    order: Mapped[Order] = relationship(back_populates="items")

    # A negative quantity is a returned line (imported logs only): it takes value off.
    __table_args__ = (
        CheckConstraint(
            "quantity >= 1 OR (quantity <= -1 AND line_total <= 0)", name="quantity_or_return"
        ),
    )


class OrderStatusChange(Base):
    """One entry of an order's status history: which status, when, and who moved it."""

    __tablename__ = "order_status_changes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_kind: Mapped[str] = mapped_column(
        String(20), nullable=False, default="shopper", server_default="shopper"
    )

    order: Mapped[Order] = relationship(back_populates="status_history")

    __table_args__ = (CheckConstraint(_one_of("actor_kind", ACTOR_KINDS), name="actor_kind_valid"),)


def declare_cancellations_index() -> Index:
    """The partial index of cancellations and refunds (migrations 0009, 0010), declared on demand.

    Only the changes that end an order's money, which every ML feature query looks up;
    PostgreSQL and SQLite (MariaDB has no partial indexes). Migrations declare it
    (`shop/migrations/env.py`), so autogenerate sees it; importing the models does not: its
    dialect options would load the PostgreSQL and SQLite dialects, about 30 ms of every cold
    start, health checks included.
    """
    table = cast(Table, OrderStatusChange.__table__)
    for index in table.indexes:
        if index.name == CANCELLATIONS_INDEX:
            return index
    return Index(
        CANCELLATIONS_INDEX,
        table.c.order_id,
        table.c.at,
        postgresql_where=text(CANCELLED_ONLY),
        sqlite_where=text(CANCELLED_ONLY),
    ).ddl_if(dialect=("postgresql", "sqlite"))  # type: ignore[arg-type]  # documented


class IdempotencyRecord(Base):
    """An `Idempotency-Key` a user sent, the hash of its request and, once done, the result.

    The row is committed as `in_progress` before the work starts, so a concurrent retry sees
    it (unique per user and key) and gets 409 instead of doing the work twice.
    """

    __tablename__ = "idempotency_records"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    scope: Mapped[str] = mapped_column(String(40), nullable=False, default="checkout")
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(20), nullable=False, default="in_progress")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    response_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "scope", "key", name="uq_idempotency_records_user_scope_key"),
        CheckConstraint("state IN ('in_progress', 'completed')", name="state_valid"),
        Index("ix_idempotency_records_created", "created_at"),
    )
