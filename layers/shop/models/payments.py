"""Payments: webhook events already handled, refunds, and the local test mode's intents."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.coltypes import BigIntPK, Money, UTCDateTime, utcnow
from shop.models.base import Base


class PaymentEvent(Base):
    """A provider event that was handled: its id makes a redelivery change nothing.

    Kept for PAYMENT_EVENT_RETENTION_DAYS (housekeeping), longer than Stripe retries.
    """

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    order_id: Mapped[int | None] = mapped_column(Integer)
    #: What handling it did: applied, unchanged, ignored, refused, refunded.
    outcome: Mapped[str] = mapped_column(String(20), nullable=False)
    detail: Mapped[str | None] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (Index("ix_payment_events_received", "received_at"),)


class PaymentRefund(Base):
    """Money sent back for an order, with the provider's refund id.

    `request_key` (unique per order) is what makes a refund idempotent: the cancel, the late
    payment's automatic refund, or an admin's Idempotency-Key.
    """

    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    request_key: Mapped[str] = mapped_column(String(80), nullable=False)
    provider_refund_id: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(20), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (
        UniqueConstraint("order_id", "request_key", name="uq_payment_refunds_order_key"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )


class TestModeIntent(Base):
    """A PaymentIntent of the local test mode (no Stripe key): the state Stripe would keep."""

    __tablename__ = "test_mode_intents"
    __test__ = False  # not a pytest class

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    order_id: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(Integer, nullable=False)  # minor units, as Stripe
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(40), nullable=False)
    client_secret: Mapped[str] = mapped_column(String(128), nullable=False)
    refunded: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
