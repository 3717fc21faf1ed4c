"""How many sales the storefront's recommendations led to.

An order counts when it holds a product its customer viewed or added to the cart from a
recommendation list in the ATTRIBUTION_DAYS before ordering; its revenue is those lines'
totals. Read from behavior events (`source`) and orders, never from the model's scores.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.behavior import RECOMMENDATION_SOURCES
from shop.coltypes import utcnow
from shop.models import BehaviorEvent, Order, OrderItem

#: A recommendation gets the credit for an order placed within this many days of the click.
ATTRIBUTION_DAYS = 7


def recommendation_impact(
    session: Session, days: int, now: datetime | None = None
) -> dict[str, Any]:
    """Views, cart adds and orders that came from recommendations in the last `days` days."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    events = session.execute(
        select(
            BehaviorEvent.user_id,
            BehaviorEvent.product_id,
            BehaviorEvent.event_type,
            BehaviorEvent.source,
            BehaviorEvent.occurred_at,
        ).where(
            BehaviorEvent.source.in_(RECOMMENDATION_SOURCES),
            BehaviorEvent.occurred_at >= since - timedelta(days=ATTRIBUTION_DAYS),
            BehaviorEvent.occurred_at < now,
        )
    ).all()
    views = sum(1 for e in events if e.occurred_at >= since and e.event_type == "product_view")
    adds = sum(1 for e in events if e.occurred_at >= since and e.event_type == "cart_add")
    clicks: dict[tuple[int, int], list[tuple[datetime, str]]] = {}
    for event in events:
        if event.user_id is not None and event.product_id is not None:
            key = (event.user_id, event.product_id)
            clicks.setdefault(key, []).append((event.occurred_at, event.source))
    orders: set[int] = set()
    revenue = Decimal("0.00")
    by_source: dict[str, int] = dict.fromkeys(RECOMMENDATION_SOURCES, 0)
    users = sorted({user for user, _ in clicks})
    for start in range(0, len(users), 500):
        for line in _lines(session, users[start : start + 500], since, now):
            credited = _credited(clicks.get((line.user_id, line.product_id), []), line.created_at)
            if credited is None:
                continue
            if line.order_id not in orders:
                by_source[credited] += 1
            orders.add(line.order_id)
            revenue += line.line_total
    return {
        "days": days,
        "attribution_days": ATTRIBUTION_DAYS,
        "product_views": views,
        "cart_adds": adds,
        "orders": len(orders),
        "revenue": revenue,
        "orders_by_source": by_source,
    }


def _lines(session: Session, users: list[int], since: datetime, now: datetime) -> Any:
    return session.execute(
        select(
            Order.id.label("order_id"),
            Order.user_id,
            Order.created_at,
            OrderItem.product_id,
            OrderItem.line_total,
        )
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(
            Order.user_id.in_(users),
            Order.created_at >= since,
            Order.created_at < now,
            Order.status != "cancelled",
        )
        .order_by(Order.id, OrderItem.id)
    ).all()


def _credited(clicks: list[tuple[datetime, str]], ordered_at: datetime) -> str | None:
    """The source of the latest click in the attribution window before the order, if any."""
    window = ordered_at - timedelta(days=ATTRIBUTION_DAYS)
    inside = [(at, source) for at, source in clicks if window <= at <= ordered_at]
    return max(inside)[1] if inside else None
