"""Commerce: carts, orders with their lines and status history, idempotency keys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.coltypes import BigIntPK, Money, UTCDateTime, utcnow
from shop.models.base import Base, TimestampMixin

#: Every status an order can have, in the order a happy order goes through them.
ORDER_STATUSES: tuple[str, ...] = ("pending", "paid", "shipped", "delivered", "cancelled")

#: Longest quantity one cart line may hold, and most lines one cart may have.
MAX_LINE_QUANTITY = 100
MAX_CART_LINES = 50


class Cart(TimestampMixin, Base):
    """A user's one shopping cart; its row is also the lock that serializes their checkouts."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)

    items: Mapped[list[CartItem]] = relationship(
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
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending")
    subtotal: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total: Mapped[Decimal] = mapped_column(Money, nullable=False)
    item_count: Mapped[int] = mapped_column(Integer, nullable=False)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: Set on orders made by `shopfn import transactions`: a digest of the source line, so
    #: importing the same line again adds nothing (or, for a basket, of its invoice and
    #: customer, starting with "i"). Only imported returns may be negative.
    import_key: Mapped[str | None] = mapped_column(String(32), unique=True)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.product_id", cascade="all, delete-orphan"
    )
    status_history: Mapped[list[OrderStatusChange]] = relationship(
        back_populates="order",
        order_by="OrderStatusChange.id",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')",
            name="status_valid",
        ),
        CheckConstraint(
            "(subtotal >= 0 AND total >= 0) OR import_key IS NOT NULL",
            name="amounts_non_negative_or_imported",
        ),
        Index("ix_orders_user_created", "user_id", "created_at"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_created", "created_at"),
        # Covers the admin sales stats' reads of a window of orders (index-only scans).
        Index(
            "ix_orders_stats_window",
            "created_at",
            "status",
            "user_id",
            "total",
            "item_count",
            "id",
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

    order: Mapped[Order] = relationship(back_populates="status_history")

    __table_args__ = (
        # Only the cancellations, which every ML feature query looks up (migration 0009);
        # MariaDB has no partial indexes.
        Index(
            "ix_order_status_changes_cancelled",
            "order_id",
            "at",
            postgresql_where=text("status = 'cancelled'"),
            sqlite_where=text("status = 'cancelled'"),
        ).ddl_if(dialect=("postgresql", "sqlite")),  # type: ignore[arg-type]  # documented
    )


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
