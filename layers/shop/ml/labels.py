"""Labels: what each user really did in the window after a cutoff."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.ml.lookback import SPEND_DAYS  # also read from here by dataset, backtest
from shop.models import Order


def orders_after(
    session: Session, cutoff: datetime, days: int, user_ids: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(number of orders, their total value) per user in [cutoff, cutoff + days).

    Cancelled orders do not count: a cancelled purchase is no purchase.
    """
    counts = np.zeros(len(user_ids))
    totals = np.zeros(len(user_ids))
    if len(user_ids) == 0:
        return counts, totals
    row_of = {int(u): i for i, u in enumerate(user_ids)}
    query = (
        select(Order.user_id, func.count(), func.sum(Order.total))
        .where(
            Order.created_at >= cutoff,
            Order.created_at < cutoff + timedelta(days=days),
            Order.status != "cancelled",
        )
        .group_by(Order.user_id)
    )
    for user_id, count, total in session.execute(query):
        row = row_of.get(int(user_id))
        if row is not None:
            counts[row] = float(count)
            totals[row] = float(total or 0)
    return counts, totals


def churn_and_spend(
    session: Session, cutoff: datetime, user_ids: NDArray[np.int64], horizon_days: int = 30
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(churned, spend): churned = no order in `horizon_days`; spend = value in 30 days."""
    counts, spend = orders_after(session, cutoff, SPEND_DAYS, user_ids)
    if horizon_days != SPEND_DAYS:
        counts, _ = orders_after(session, cutoff, horizon_days, user_ids)
    return (counts == 0).astype(np.float64), spend
