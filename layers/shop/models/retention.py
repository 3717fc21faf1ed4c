"""Retention campaigns: who gets an offer, who is held back, and the messages sent."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.coltypes import BigIntPK, Money, UTCDateTime, utcnow
from shop.models.base import Base, TimestampMixin


class RetentionCampaign(TimestampMixin, Base):
    """An offer for customers the churn model says are leaving, with a held-back control group.

    The offer is a coupon template: each customer in the offer group gets a personal code of
    this kind and value, valid for `offer_days` from the day it is sent.
    """

    __tablename__ = "retention_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    churn_threshold: Mapped[float] = mapped_column(Float, nullable=False)
    min_predicted_spend: Mapped[Decimal | None] = mapped_column(Money)
    min_past_spend: Mapped[Decimal | None] = mapped_column(Money)
    offer_kind: Mapped[str] = mapped_column(String(10), nullable=False)
    offer_value: Mapped[Decimal] = mapped_column(Money, nullable=False)
    offer_min_order: Mapped[Decimal | None] = mapped_column(Money)
    offer_days: Mapped[int] = mapped_column(Integer, nullable=False, default=14)
    code_prefix: Mapped[str] = mapped_column(String(20), nullable=False, default="COMEBACK")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    control_share: Mapped[float] = mapped_column(Float, nullable=False, default=0.2)
    #: Seeds each customer's draw: the same customer always lands in the same group.
    seed: Mapped[int] = mapped_column(Integer, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("churn_threshold >= 0 AND churn_threshold <= 1", name="threshold_range"),
        CheckConstraint("control_share > 0 AND control_share < 1", name="control_share_range"),
        CheckConstraint("offer_kind IN ('percent', 'amount')", name="offer_kind_valid"),
        CheckConstraint("offer_days >= 1", name="offer_days_positive"),
    )


class CampaignAssignment(Base):
    """One customer's group in one campaign: decided once, never changed."""

    __tablename__ = "campaign_assignments"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("retention_campaigns.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    group: Mapped[str] = mapped_column("group_name", String(10), nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    #: What the model said when the customer was picked (for the record; never for the effect).
    churn_probability: Mapped[float] = mapped_column(Float, nullable=False)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"))

    __table_args__ = (
        UniqueConstraint("campaign_id", "user_id", name="uq_campaign_assignments_campaign_user"),
        CheckConstraint("group_name IN ('offer', 'control')", name="group_valid"),
    )


class OutboxMessage(Base):
    """A message to a customer: pending until sent (SES in AWS, or the local outbox), then
    kept for OUTBOX_RETENTION_DAYS (housekeeping)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("retention_campaigns.id"))
    to_address: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: pending -> sent (SES, or "local" without it) | skipped (opted out) | failed.
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    channel: Mapped[str | None] = mapped_column(String(10))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'skipped', 'failed')", name="status_valid"),
        Index("ix_outbox_messages_user_created", "user_id", "created_at"),
        Index("ix_outbox_messages_status", "status", "id"),
    )
