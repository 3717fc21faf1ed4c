"""Behavior events recorded for the ML models."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.coltypes import BigIntPK, UTCDateTime, utcnow
from shop.models.base import Base


class BehaviorEvent(Base):
    """A user action (login, product_view, search, ...): the ML models' raw material."""

    __tablename__ = "behavior_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    event_type: Mapped[str] = mapped_column(String(32), nullable=False)
    product_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    #: The recommendation list a view or cart add came from (`shop.behavior.RecommendationSource`).
    source: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_behavior_events_user_time", "user_id", "occurred_at"),
        Index("ix_behavior_events_type_time", "event_type", "occurred_at"),
        # Analytics read a window of all events by time (see migration 0006).
        Index("ix_behavior_events_time_type", "occurred_at", "event_type"),
        # The few events that came from a recommendation, by time (see migration 0014).
        Index("ix_behavior_events_source_time", "source", "occurred_at"),
    )
