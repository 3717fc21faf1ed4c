"""The `transactions` profile of `shopfn simulate`: a history shaped like a real retail log.

What an imported transaction log gives the models, and nothing more: orders only (no page
views, logins or carts), each customer known from their first purchase (as `shopfn import
transactions` creates them), customers arriving within a few months of each other, most of
them buying once. Repeat buying follows the BG/NBD story (each customer buys at their own
Poisson rate and may drop out after any purchase), with a yearly season peaking in December;
order values are heavy-tailed (log-normal per customer and per order, and a rare large one).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

#: Share of the history (at most this many days) over which customers make their first order.
COHORT_DAYS = 90
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class BuyingHabits:
    """Population of buyers: gamma-distributed rates, beta-distributed dropout after a purchase."""

    rate_shape: float = 0.35
    mean_days_between_orders: float = 15.0
    dropout_a: float = 1.3
    dropout_b: float = 1.9
    season_amplitude: float = 0.4
    typical_order_value: float = 35.0
    #: Gamma shape of the gaps between orders: 1 is memoryless (what BG/NBD assumes); real
    #: shoppers are more regular than that (they restock), so recency says more.
    regularity: float = 2.0


HABITS = BuyingHabits()
_PEAK_DAY_OF_YEAR = 350  # mid-December


def season(at: datetime, amplitude: float) -> float:
    """Relative buying rate on a day of the year: 1 on average, highest in mid-December."""
    day = at.timetuple().tm_yday
    return 1.0 + amplitude * math.cos(2 * math.pi * (day - _PEAK_DAY_OF_YEAR) / 365.25)


def first_order_at(rng: random.Random, start: datetime, days: int) -> datetime:
    """When a customer first buys: within the first few months of the history."""
    window = min(COHORT_DAYS, days / 4)
    return start + timedelta(seconds=rng.uniform(0, window) * 86400)


def purchase_times(
    rng: random.Random, first: datetime, now: datetime, habits: BuyingHabits = HABITS
) -> list[datetime]:
    """A customer's order times: the first one, then repeats until they drop out or `now`."""
    rate = rng.gammavariate(
        habits.rate_shape, 1 / (habits.rate_shape * habits.mean_days_between_orders)
    )
    dropout = rng.betavariate(habits.dropout_a, habits.dropout_b)
    peak = 1.0 + habits.season_amplitude
    times = [first]
    at = first
    left = (now - first) / _DAY
    alive = rng.random() > dropout
    while alive and rate > 0:
        # Thinning: candidate times at the peak rate, kept in proportion to the season.
        gap = rng.gammavariate(habits.regularity, 1 / (habits.regularity * rate * peak))
        if gap >= left:
            break
        left -= gap
        at += gap * _DAY
        if rng.random() < season(at, habits.season_amplitude) / peak:
            times.append(at)
            alive = rng.random() > dropout
    return times


def order_values(rng: random.Random, count: int, habits: BuyingHabits = HABITS) -> list[Decimal]:
    """`count` order values of one customer: their own typical basket, log-normal around it."""
    typical = habits.typical_order_value * rng.lognormvariate(0, 0.6)
    values = []
    for _ in range(count):
        value = typical * rng.lognormvariate(0, 0.5)
        if rng.random() < 0.02:  # now and then a much larger order (a gift, a bulk buy)
            value *= rng.paretovariate(1.5)
        values.append(Decimal(max(value, 1.0)).quantize(Decimal("0.01")))
    return values


def transaction_order(
    rng: random.Random,
    user_id: int,
    at: datetime,
    value: Decimal,
    product: tuple[int, str, Decimal],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A delivered order of one line worth `value` (the log's amount), and that line."""
    quantity = 1 if rng.random() < 0.7 else rng.randint(2, 4)
    unit_price = (value / quantity).quantize(Decimal("0.01"))
    total = unit_price * quantity
    pid, name, _ = product
    line = {
        "product_id": pid,
        "name": name,
        "unit_price": unit_price,
        "quantity": quantity,
        "line_total": total,
    }
    order = {
        "user_id": user_id,
        "status": "delivered",
        "subtotal": total,
        "total": total,
        "item_count": quantity,
        "shipping_address": {"imported": True},
        "created_at": at,
        "updated_at": at,
        "paid_at": at,  # models learn from paid orders only (shop.ml.paid)
    }
    return order, [line]
