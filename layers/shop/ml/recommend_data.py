"""What the recommendation model learns from: purchased lines and product views, as arrays.

Read once per fit with two plain queries (order lines joined to their orders, and product
events), so a year of a grocery's till export loads in seconds. Cancelled orders, returns
(negative totals) and lines of zero or fewer units are not purchases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import BehaviorEvent, Order, OrderItem

#: How far back the model reads orders (a year: a grocery's seasons) and views/cart adds.
ORDER_LOOKBACK_DAYS = 365
EVENT_LOOKBACK_DAYS = 90
#: Events that show interest in a product, with their weight relative to a purchase.
EVENT_WEIGHTS: dict[str, float] = {"product_view": 0.1, "cart_add": 0.3}
_SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class PurchaseHistory:
    """Order lines and product events before `as_of`; ages in days before `as_of`."""

    as_of: datetime
    #: One entry per purchased line: its customer, its order (basket), product and age.
    line_user: NDArray[np.int64]
    line_basket: NDArray[np.int64]
    line_product: NDArray[np.int64]
    line_age: NDArray[np.float64]
    #: One entry per view or cart add: its customer, product, weight and age.
    event_user: NDArray[np.int64]
    event_product: NDArray[np.int64]
    event_weight: NDArray[np.float64]
    event_age: NDArray[np.float64]

    @property
    def has_orders(self) -> bool:
        return len(self.line_user) > 0

    def split(self, days: float) -> tuple[PurchaseHistory, dict[int, set[int]]]:
        """The history as of `days` before `as_of`, and each customer's products bought since."""
        lines, events = self.line_age >= days, self.event_age >= days
        early = PurchaseHistory(
            as_of=self.as_of - timedelta(days=days),
            line_user=self.line_user[lines],
            line_basket=self.line_basket[lines],
            line_product=self.line_product[lines],
            line_age=self.line_age[lines] - days,
            event_user=self.event_user[events],
            event_product=self.event_product[events],
            event_weight=self.event_weight[events],
            event_age=self.event_age[events] - days,
        )
        after: dict[int, set[int]] = {}
        late = ~lines
        for user, product in zip(
            self.line_user[late].tolist(), self.line_product[late].tolist(), strict=True
        ):
            after.setdefault(user, set()).add(product)
        return early, after

    def bought_before(self) -> dict[int, set[int]]:
        """Each customer's purchased products."""
        bought: dict[int, set[int]] = {}
        for user, product in zip(self.line_user.tolist(), self.line_product.tolist(), strict=True):
            bought.setdefault(user, set()).add(product)
        return bought


def load_history(session: Session, as_of: datetime) -> PurchaseHistory:
    """Purchases in the ORDER_LOOKBACK_DAYS and events in the EVENT_LOOKBACK_DAYS before `as_of`."""
    since = as_of - timedelta(days=ORDER_LOOKBACK_DAYS)
    lines = session.execute(
        select(Order.user_id, Order.id, OrderItem.product_id, Order.created_at)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(
            Order.created_at >= since,
            Order.created_at < as_of,
            Order.status != "cancelled",
            Order.total >= 0,
            OrderItem.quantity > 0,
        )
    ).all()
    events = session.execute(
        select(BehaviorEvent.user_id, BehaviorEvent.product_id, BehaviorEvent.event_type)
        .add_columns(BehaviorEvent.occurred_at)
        .where(
            BehaviorEvent.event_type.in_(tuple(EVENT_WEIGHTS)),
            BehaviorEvent.occurred_at >= as_of - timedelta(days=EVENT_LOOKBACK_DAYS),
            BehaviorEvent.occurred_at < as_of,
            BehaviorEvent.user_id.is_not(None),
            BehaviorEvent.product_id.is_not(None),
        )
    ).all()
    stamp = as_of.timestamp()
    return PurchaseHistory(
        as_of=as_of,
        line_user=np.array([r[0] for r in lines], dtype=np.int64),
        line_basket=np.array([r[1] for r in lines], dtype=np.int64),
        line_product=np.array([r[2] for r in lines], dtype=np.int64),
        line_age=_ages(stamp, [r[3] for r in lines]),
        event_user=np.array([r[0] for r in events], dtype=np.int64),
        event_product=np.array([r[1] for r in events], dtype=np.int64),
        event_weight=np.array([EVENT_WEIGHTS[r[2]] for r in events], dtype=np.float64),
        event_age=_ages(stamp, [r[3] for r in events]),
    )


def _ages(stamp: float, times: list[datetime]) -> NDArray[np.float64]:
    seconds = np.array([t.timestamp() for t in times], dtype=np.float64)
    return (stamp - seconds) / _SECONDS_PER_DAY


def purchases_between(session: Session, start: datetime, end: datetime) -> dict[int, set[int]]:
    """Each customer's purchased products in [start, end): what a backtest checks against."""
    rows = session.execute(
        select(Order.user_id, OrderItem.product_id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(
            Order.created_at >= start,
            Order.created_at < end,
            Order.status != "cancelled",
            Order.total >= 0,
            OrderItem.quantity > 0,
        )
    ).all()
    bought: dict[int, set[int]] = {}
    for user, product in rows:
        bought.setdefault(int(user), set()).add(int(product))
    return bought
