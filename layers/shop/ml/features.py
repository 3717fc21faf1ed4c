"""Point-in-time features per user: the one definition training and prediction both use.

Everything is computed in SQL from rows strictly before `as_of` (orders created before it,
cancellations that happened before it, events that occurred before it), so adding later
data never changes a feature and no label leaks in. Numpy only: the predict function
imports this module without pandas or scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from shop.behavior import EVENT_TYPES
from shop.coltypes import UTCDateTime
from shop.models import BehaviorEvent, Order, OrderStatusChange, User

WINDOWS: tuple[int, ...] = (7, 30, 90)

ORDER_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "tenure_days",
    *(f"orders_{w}d" for w in WINDOWS),
    *(f"spend_{w}d" for w in WINDOWS),
    "cancelled_orders",
)
EVENT_FEATURES: tuple[str, ...] = tuple(f"{t}_{w}d" for t in EVENT_TYPES for w in WINDOWS)
BEHAVIOR_FEATURES: tuple[str, ...] = (
    "cart_abandonment_90d",
    "days_since_last_login",
    "days_since_last_event",
)
#: The feature vector, in order; stored with every model so serving reads the same columns.
FEATURE_NAMES: tuple[str, ...] = ORDER_FEATURES + EVENT_FEATURES + BEHAVIOR_FEATURES
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_DAY = 86400.0


@dataclass(frozen=True)
class FeatureFrame:
    """Features of some users at one instant: rows follow `user_ids`, columns FEATURE_NAMES."""

    as_of: datetime
    user_ids: NDArray[np.int64]
    matrix: NDArray[np.float64]

    def column(self, name: str) -> NDArray[np.float64]:
        return self.matrix[:, _INDEX[name]]

    def columns(self, names: Sequence[str]) -> NDArray[np.float64]:
        return self.matrix[:, [_INDEX[name] for name in names]]

    def clv_inputs(self) -> tuple[NDArray[np.float64], ...]:
        """(x, tx, T, m) for BG/NBD + Gamma-Gamma, with sign-up as each customer's birth."""
        x = self.column("frequency")
        t_age = self.column("tenure_days")
        tx = np.where(x > 0, np.maximum(t_age - self.column("recency_days"), 0.0), 0.0)
        return x, tx, t_age, self.column("avg_order_value")

    def subset(self, mask: NDArray[np.bool_]) -> FeatureFrame:
        return FeatureFrame(self.as_of, self.user_ids[mask], self.matrix[mask])


def compute_features(
    session: Session,
    as_of: datetime,
    user_ids: Sequence[int] | None = None,
    *,
    active_only: bool = False,
) -> FeatureFrame:
    """Features as of `as_of` for `user_ids` (unknown ids are dropped), or for every customer.

    `active_only` keeps users with an order before `as_of` or an event in the 90 days before
    it: the population the models are trained on.
    """
    users = _users(session, as_of, user_ids)
    ids = np.array([u[0] for u in users], dtype=np.int64)
    matrix = np.zeros((len(ids), len(FEATURE_NAMES)), dtype=np.float64)
    if len(ids) == 0:
        return FeatureFrame(as_of, ids, matrix)
    row_of = {int(user_id): row for row, user_id in enumerate(ids)}
    tenure = np.array([(as_of - created).total_seconds() / _DAY for _, created in users])
    matrix[:, _INDEX["tenure_days"]] = np.maximum(tenure, 0.0)
    last_order = np.full(len(ids), np.nan)
    _fill_orders(session, as_of, user_ids, row_of, matrix, last_order)
    last_login, last_event = _fill_events(session, as_of, user_ids, row_of, matrix)
    tenure_col = matrix[:, _INDEX["tenure_days"]]
    # "Never" reads as "since sign-up": a finite value trees can split on.
    matrix[:, _INDEX["recency_days"]] = np.where(np.isnan(last_order), tenure_col, last_order)
    matrix[:, _INDEX["days_since_last_login"]] = np.where(
        np.isnan(last_login), tenure_col, last_login
    )
    matrix[:, _INDEX["days_since_last_event"]] = np.where(
        np.isnan(last_event), tenure_col, last_event
    )
    frequency = matrix[:, _INDEX["frequency"]]
    matrix[:, _INDEX["avg_order_value"]] = np.where(
        frequency > 0, matrix[:, _INDEX["monetary_total"]] / np.maximum(frequency, 1), 0.0
    )
    adds = matrix[:, _INDEX["cart_add_90d"]]
    checkouts = matrix[:, _INDEX["checkout_90d"]]
    matrix[:, _INDEX["cart_abandonment_90d"]] = np.maximum(adds - checkouts, 0) / np.maximum(
        adds, 1
    )
    frame = FeatureFrame(as_of, ids, matrix)
    if active_only:
        events_90d = matrix[:, [_INDEX[f"{t}_90d"] for t in EVENT_TYPES]].sum(axis=1)
        frame = frame.subset((frequency > 0) | (events_90d > 0))
    return frame


def _users(
    session: Session, as_of: datetime, user_ids: Sequence[int] | None
) -> list[tuple[int, datetime]]:
    query = select(User.id, User.created_at).where(User.created_at < as_of)
    if user_ids is None:
        query = query.where(User.role == "customer")
    else:
        query = query.where(User.id.in_(list(user_ids)))
    return [(int(row[0]), row[1]) for row in session.execute(query.order_by(User.id))]


def _days_ago(as_of: datetime, when: datetime | None) -> float:
    return np.nan if when is None else max((as_of - when).total_seconds() / _DAY, 0.0)


def _count_since(column: Any, start: datetime, value: Any = 1) -> Any:
    return func.coalesce(func.sum(case((column >= start, value), else_=0)), 0)


def _fill_orders(
    session: Session,
    as_of: datetime,
    user_ids: Sequence[int] | None,
    row_of: dict[int, int],
    matrix: NDArray[np.float64],
    last_order: NDArray[np.float64],
) -> None:
    cancellations = select(
        OrderStatusChange.order_id.label("order_id"),
        func.min(OrderStatusChange.at).label("cancelled_at"),
    ).where(OrderStatusChange.status == "cancelled", OrderStatusChange.at < as_of)
    if user_ids is not None:  # a few users: look at their orders only, not the whole table
        cancellations = cancellations.join(Order, Order.id == OrderStatusChange.order_id).where(
            Order.user_id.in_(list(user_ids))
        )
    cancelled = cancellations.group_by(OrderStatusChange.order_id).subquery()
    valid = cancelled.c.cancelled_at.is_(None)
    created = Order.created_at
    starts = {w: as_of - timedelta(days=w) for w in WINDOWS}
    query = (
        select(
            Order.user_id,
            func.sum(case((valid, 1), else_=0)),
            func.sum(case((valid, Order.total), else_=0)),
            type_coerce(func.max(case((valid, created), else_=None)), UTCDateTime()),
            func.sum(case((valid, 0), else_=1)),
            *(func.sum(case((and_(valid, created >= starts[w]), 1), else_=0)) for w in WINDOWS),
            *(
                func.sum(case((and_(valid, created >= starts[w]), Order.total), else_=0))
                for w in WINDOWS
            ),
        )
        .outerjoin(cancelled, cancelled.c.order_id == Order.id)
        .where(created < as_of)
        .group_by(Order.user_id)
    )
    if user_ids is not None:
        query = query.where(Order.user_id.in_(list(user_ids)))
    base = _INDEX["orders_7d"]
    spend_base = _INDEX["spend_7d"]
    for user_id, count, total, latest, cancels, *windows in session.execute(query):
        row = row_of.get(int(user_id))
        if row is None:
            continue
        matrix[row, _INDEX["frequency"]] = float(count or 0)
        matrix[row, _INDEX["monetary_total"]] = float(total or 0)
        matrix[row, _INDEX["cancelled_orders"]] = float(cancels or 0)
        last_order[row] = _days_ago(as_of, latest)
        for i in range(len(WINDOWS)):
            matrix[row, base + i] = float(windows[i] or 0)
            matrix[row, spend_base + i] = float(windows[len(WINDOWS) + i] or 0)


def _fill_events(
    session: Session,
    as_of: datetime,
    user_ids: Sequence[int] | None,
    row_of: dict[int, int],
    matrix: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    occurred = BehaviorEvent.occurred_at
    query = (
        select(
            BehaviorEvent.user_id,
            BehaviorEvent.event_type,
            type_coerce(func.max(occurred), UTCDateTime()),
            *(_count_since(occurred, as_of - timedelta(days=w)) for w in WINDOWS),
        )
        .where(occurred < as_of, BehaviorEvent.user_id.is_not(None))
        .group_by(BehaviorEvent.user_id, BehaviorEvent.event_type)
    )
    if user_ids is not None:
        query = query.where(BehaviorEvent.user_id.in_(list(user_ids)))
    last_login = np.full(matrix.shape[0], np.nan)
    last_event = np.full(matrix.shape[0], np.nan)
    known = set(EVENT_TYPES)
    for user_id, event_type, latest, *counts in session.execute(query):
        row = row_of.get(int(user_id))
        if row is None or event_type not in known:
            continue
        for window, count in zip(WINDOWS, counts, strict=True):
            matrix[row, _INDEX[f"{event_type}_{window}d"]] = float(count or 0)
        ago = _days_ago(as_of, latest)
        if event_type == "login":
            last_login[row] = ago
        if np.isnan(last_event[row]) or ago < last_event[row]:
            last_event[row] = ago
    return last_login, last_event
