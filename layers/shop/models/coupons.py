"""Coupons: percent-off or amount-off codes, shared or personal, and each use of one."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.coltypes import Money, UTCDateTime, utcnow
from shop.models.base import Base, TimestampMixin
from shop.models.commerce import Order

#: The kinds of coupon: `value` is a percentage (0 < v <= 100) or an amount of money.
COUPON_KINDS: tuple[str, ...] = ("percent", "amount")


class Coupon(TimestampMixin, Base):
    """A code that takes money off an order; its row is locked while an order redeems it."""

    __tablename__ = "coupons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored upper-cased: codes are typed by people, so "save10" and "SAVE10" are one code.
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    min_order: Mapped[Decimal | None] = mapped_column(Money)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Uses in all; None is no limit. `redemption_count` is checked against it under the lock.
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    #: Uses per customer; None is no limit.
    per_customer_limit: Mapped[int | None] = mapped_column(Integer, default=1)
    #: Set for a personal code: only this customer may use it.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    redemption_count: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'amount')", name="kind_valid"),
        CheckConstraint("value > 0 AND (kind = 'amount' OR value <= 100)", name="value_in_range"),
        CheckConstraint("redemption_count >= 0", name="count_non_negative"),
        CheckConstraint(
            "max_redemptions IS NULL OR redemption_count <= max_redemptions",
            name="count_within_limit",
        ),
    )


class CouponRedemption(Base):
    """One use of a coupon by one order (an order uses at most one coupon)."""

    __tablename__ = "coupon_redemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, unique=True)
    discount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    redeemed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    order: Mapped[Order] = relationship()

    __table_args__ = (
        Index("ix_coupon_redemptions_coupon_user", "coupon_id", "user_id"),
        CheckConstraint("discount >= 0", name="discount_non_negative"),
    )
