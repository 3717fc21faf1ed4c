"""Behavior events: the record of what users do, written for the ML models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from shop.logging import get_logger

if TYPE_CHECKING:  # the model (and the ORM) load with the first event, not with this module,
    # which request schemas import for its names alone
    from sqlalchemy.orm import Session

EventType = Literal[
    "login",
    "product_view",
    "search",
    "cart_add",
    "cart_remove",
    "checkout",
    "order_cancel",
    "support_message",
]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]
#: The storefront's recommendation lists, recorded on the views and cart adds they led to.
RecommendationSource = Literal["often_bought_together", "picked_for_you", "buy_again"]
RECOMMENDATION_SOURCES: tuple[str, ...] = RecommendationSource.__args__  # type: ignore[attr-defined]


def record_event(
    session: Session,
    event_type: EventType,
    *,
    user_id: int | None,
    product_id: int | None = None,
    payload: dict[str, Any] | None = None,
    source: RecommendationSource | None = None,
) -> None:
    """Add an event to the caller's transaction: it commits, or rolls back, with the action."""
    from shop.models import BehaviorEvent

    session.add(
        BehaviorEvent(
            user_id=user_id,
            event_type=event_type,
            product_id=product_id,
            payload=payload or {},
            source=source,
        )
    )


def record_event_now(
    session: Session,
    event_type: EventType,
    *,
    user_id: int | None,
    product_id: int | None = None,
    payload: dict[str, Any] | None = None,
    source: RecommendationSource | None = None,
) -> None:
    """Record an event for a read-only action in its own short transaction.

    A failure here is logged and swallowed: tracking must never fail the request it observes.
    """
    try:
        record_event(
            session,
            event_type,
            user_id=user_id,
            product_id=product_id,
            payload=payload,
            source=source,
        )
        session.commit()
    except Exception:
        session.rollback()
        get_logger().warning("behavior event not recorded", extra={"event_type": event_type})
