"""Labels: what each user really did in the window after a cutoff."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from shop.ml.lookback import SPEND_DAYS  # also read from here by dataset, backtest
from shop.ml.paid import kept_money
from shop.models import Order


def orders_after(
    session: Session, cutoff: datetime, days: int, user_ids: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(number of purchases, net value) per user in [cutoff, cutoff + days).

    Only paid money counts (`shop.ml.paid`): an order never paid, cancelled or refunded is
    no purchase. A return (an imported
    order with a negative total) is no purchase either, but takes its value off the total.
    """
    counts = np.zeros(len(user_ids))
    totals = np.zeros(len(user_ids))
    if len(user_ids) == 0:
        return counts, totals
    row_of = {int(u): i for i, u in enumerate(user_ids)}
    query = (
        select(Order.user_id, func.sum(case((Order.total >= 0, 1), else_=0)), func.sum(Order.total))
        .where(
            Order.created_at >= cutoff,
            Order.created_at < cutoff + timedelta(days=days),
            kept_money(Order.__table__),
        )
        .group_by(Order.user_id)
    )
    for user_id, count, total in session.execute(query):
        row = row_of.get(int(user_id))
        if row is not None:
            counts[row] = float(count or 0)
            totals[row] = float(total or 0)
    return counts, totals


def churn_and_spend(
    session: Session,
    cutoff: datetime,
    user_ids: NDArray[np.int64],
    horizon_days: int = 30,
    spend_days: int = SPEND_DAYS,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(churned, spend): churned = no purchase in `horizon_days`; spend = net value bought in
    `spend_days`, never below zero (a customer who only returned things spent nothing)."""
    counts, spend = orders_after(session, cutoff, spend_days, user_ids)
    if horizon_days != spend_days:
        counts, _ = orders_after(session, cutoff, horizon_days, user_ids)
    return (counts == 0).astype(np.float64), np.maximum(spend, 0.0)
