"""Behavior analytics computed in SQL: event counts per type and day, and the purchase funnel."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.models import BehaviorEvent

FUNNEL = ("product_view", "cart_add", "checkout")


def _day(session: Session, column: Any) -> Any:
    # PostgreSQL keeps timestamptz: take the UTC calendar day, not the session's time zone.
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone(literal_column("'UTC'"), column))
    return func.date(column)  # SQLite and MariaDB store naive UTC


def behavior_summary(session: Session, days: int) -> dict[str, Any]:
    """Events per type and UTC day in the last `days` days, and the view->cart->checkout funnel."""
    since = utcnow() - timedelta(days=days)
    day = _day(session, BehaviorEvent.occurred_at).label("day")
    rows = session.execute(
        select(day, BehaviorEvent.event_type, func.count())
        .where(BehaviorEvent.occurred_at >= since)
        .group_by(day, BehaviorEvent.event_type)
        .order_by(day, BehaviorEvent.event_type)
    ).all()
    counts = [{"day": str(d)[:10], "event_type": t, "count": int(n)} for d, t, n in rows]
    totals: dict[str, int] = {}
    for row in counts:
        totals[row["event_type"]] = totals.get(row["event_type"], 0) + row["count"]
    # Distinct (type, user) pairs first: a hash, where COUNT(DISTINCT) sorts every event.
    reached_by = (
        select(BehaviorEvent.event_type, BehaviorEvent.user_id)
        .where(BehaviorEvent.occurred_at >= since, BehaviorEvent.event_type.in_(FUNNEL))
        .distinct()
        .subquery("reached_by")
    )
    users: dict[str, int] = dict(
        session.execute(
            select(reached_by.c.event_type, func.count(reached_by.c.user_id)).group_by(
                reached_by.c.event_type
            )
        ).all()
    )
    reached = [int(users.get(stage, 0)) for stage in FUNNEL]
    stages: list[dict[str, Any]] = [
        {"stage": stage, "users": count} for stage, count in zip(FUNNEL, reached, strict=True)
    ]
    for (before, after), stage in zip(pairwise(reached), stages[1:], strict=True):
        stage["rate_from_previous"] = round(after / before, 4) if before else None
    return {
        "days": days,
        "since": since,
        "counts": counts,
        "totals": totals,
        "funnel": stages,
    }
