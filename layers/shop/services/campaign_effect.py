"""What a retention campaign changed, measured from orders and code uses only.

Offer and control groups were drawn at random, so the difference between them is the offer's
effect: the share of each group who ordered again within WINDOW_DAYS of being assigned, and
their revenue per customer net of discounts and refunds (an order's `total` is after its
coupon, less its `refunded_total`). Only orders whose money was taken and kept count
(`shop.ml.paid`): an order left unpaid, expired, cancelled or refunded is no order again. The
model's scores are never used here: they picked who was in the campaign, not the groups.
The difference in shares comes with Newcombe's hybrid-score 95% interval (Wilson intervals
of each share combined), which behaves at small counts where the plain Wald one does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.ml.paid import kept_money
from shop.models import CampaignAssignment, CouponRedemption, Order
from shop.services import coupons
from shop.services.retention import get_campaign

WINDOW_DAYS = 30
Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float, float]:
    """Difference p1 - p2 of two independent proportions and its hybrid-score interval."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high


@dataclass
class GroupOutcome:
    customers: int = 0
    ordered_again: int = 0
    revenue: Decimal = Decimal("0.00")
    discounts: Decimal = Decimal("0.00")
    codes_used: int = 0
    #: Assigned less than WINDOW_DAYS ago: their window is still open.
    still_open: int = 0

    @property
    def share(self) -> float | None:
        return self.ordered_again / self.customers if self.customers else None

    @property
    def revenue_per_customer(self) -> Decimal | None:
        if not self.customers:
            return None
        return (self.revenue / self.customers).quantize(Decimal("0.01"))

    def as_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "customers": self.customers,
            "ordered_again": self.ordered_again,
            "share_ordered_again": None if share is None else round(share, 4),
            "revenue": self.revenue,
            "revenue_per_customer": self.revenue_per_customer,
            "discounts": self.discounts,
            "codes_used": self.codes_used,
            "still_open": self.still_open,
        }


def _outcomes(session: Session, campaign_id: int) -> dict[str, GroupOutcome]:
    assignments = session.execute(
        select(
            CampaignAssignment.user_id,
            CampaignAssignment.group,
            CampaignAssignment.assigned_at,
            CampaignAssignment.coupon_id,
        ).where(CampaignAssignment.campaign_id == campaign_id)
    ).all()
    groups = {"offer": GroupOutcome(), "control": GroupOutcome()}
    if not assignments:
        return groups
    window = timedelta(days=WINDOW_DAYS)
    earliest = min(a.assigned_at for a in assignments)
    latest = max(a.assigned_at for a in assignments) + window
    by_user = {a.user_id: a for a in assignments}
    orders: dict[int, list[tuple[Any, Decimal]]] = {}
    # Read in chunks of users: an IN list stays well inside every backend's limits.
    ids = sorted(by_user)
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(Order.user_id, Order.created_at, Order.total - Order.refunded_total).where(
                Order.user_id.in_(ids[start : start + 1000]),
                kept_money(Order.__table__),
                Order.created_at > earliest,
                Order.created_at <= latest,
            )
        ).all()
        for user_id, created_at, total in rows:
            orders.setdefault(user_id, []).append((created_at, total))
    coupon_ids = [a.coupon_id for a in assignments if a.coupon_id is not None]
    used = (
        dict(
            session.execute(
                select(CouponRedemption.coupon_id, func.sum(CouponRedemption.discount))
                .where(CouponRedemption.coupon_id.in_(coupon_ids))
                .group_by(CouponRedemption.coupon_id)
            ).all()
        )
        if coupon_ids
        else {}
    )
    now = utcnow()
    for a in assignments:
        outcome = groups[a.group]
        outcome.customers += 1
        if a.assigned_at + window > now:
            outcome.still_open += 1
        inside = [
            total
            for created_at, total in orders.get(a.user_id, [])
            if a.assigned_at < created_at <= a.assigned_at + window
        ]
        if inside:
            outcome.ordered_again += 1
            outcome.revenue += sum(inside, Decimal("0.00"))
        if a.coupon_id in used:
            outcome.codes_used += 1
            outcome.discounts += Decimal(str(used[a.coupon_id])).quantize(Decimal("0.01"))
    return groups


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def measure(session: Session, campaign_id: int) -> dict[str, Any]:
    """The campaign's measured effect, with the sentences the admin page shows."""
    campaign = get_campaign(session, campaign_id)
    groups = _outcomes(session, campaign_id)
    offer, control = groups["offer"], groups["control"]
    wording = coupons.describe_offer(campaign.offer_kind, campaign.offer_value)
    result: dict[str, Any] = {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "window_days": WINDOW_DAYS,
        "offer": offer.as_dict(),
        "control": control.as_dict(),
        "difference": None,
        "revenue_per_customer_difference": None,
        "distinguishable": False,
        "revenue_sentence": None,
    }
    if not offer.customers or not control.customers:
        result["summary"] = "No customers in both groups yet: nothing to compare."
        result["verdict"] = "Run the campaign (it runs after each nightly training) to fill it."
        return result
    assert offer.share is not None and control.share is not None
    result["summary"] = (
        f"Of {offer.customers} customers we offered {wording}, {_percent(offer.share)} ordered "
        f"again within {WINDOW_DAYS} days; of the {control.customers} we left alone, "
        f"{_percent(control.share)} did."
    )
    d, low, high = newcombe(
        offer.ordered_again, offer.customers, control.ordered_again, control.customers
    )
    distinguishable = low > 0 or high < 0
    result["difference"] = {"share": round(d, 4), "low": round(low, 4), "high": round(high, 4)}
    result["distinguishable"] = distinguishable
    assert offer.revenue_per_customer is not None and control.revenue_per_customer is not None
    result["revenue_per_customer_difference"] = (
        offer.revenue_per_customer - control.revenue_per_customer
    )
    span = f"95% interval {_points(low)} to {_points(high)} points"
    if distinguishable:
        direction = "more" if d > 0 else "fewer"
        verdict = (
            f"The offer made {abs(d) * 100:.1f} points {direction} customers order again ({span})."
        )
    else:
        verdict = (
            f"The difference, {_points(d)} points ({span}), is not yet distinguishable from "
            "zero: it could be chance. More customers or more time will tell."
        )
    open_windows = offer.still_open + control.still_open
    if open_windows:
        verdict += (
            f" {open_windows} customers were picked less than {WINDOW_DAYS} days ago, "
            "so these numbers can still change."
        )
    result["verdict"] = verdict
    result["revenue_sentence"] = (
        "Revenue per customer, after discounts and refunds: "
        f"{offer.revenue_per_customer:.2f} with the offer, "
        f"{control.revenue_per_customer:.2f} without."
    )
    return result
