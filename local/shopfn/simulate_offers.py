"""Simulated customers who answer a retention campaign, with a true effect chosen in advance.

Each customer in the campaign orders again within the 30 days after being picked with chance
`base_rate`, plus `true_effect` if they were offered a code (the offer group uses its code on
that order). Measuring the campaign afterwards (`shop.services.campaign_effect`) must find the
effect that was put in, within its interval, and none when it is zero: that is how the
measurement itself is tested.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shop.models import (
    CampaignAssignment,
    Coupon,
    CouponRedemption,
    Order,
    OrderItem,
    OrderStatusChange,
    Product,
)
from shop.services.coupons import discount_for

WINDOW_DAYS = 30


@dataclass(frozen=True)
class OfferResponses:
    offer_customers: int
    control_customers: int
    offer_orders: int
    control_orders: int
    codes_used: int


def respond_to_campaign(
    session: Session,
    campaign_id: int,
    *,
    true_effect: float,
    base_rate: float = 0.15,
    seed: int | None = None,
) -> OfferResponses:
    """Write each assigned customer's next 30 days: an order or none, by the chances above."""
    if not 0 <= base_rate <= 1 or not 0 <= base_rate + true_effect <= 1:
        raise ValueError("base_rate and base_rate + true_effect must be chances from 0 to 1")
    rng = random.Random(seed)  # noqa: S311 - simulated data, not secrets
    products = session.execute(
        select(Product.id, Product.name, Product.price).where(Product.is_active.is_(True))
    ).all()
    if not products:
        raise ValueError("the catalog is empty: run `shopfn seed` first")
    assignments = session.scalars(
        select(CampaignAssignment)
        .where(CampaignAssignment.campaign_id == campaign_id)
        .order_by(CampaignAssignment.id)
    ).all()
    coupons = {
        c.id: c
        for c in session.scalars(
            select(Coupon).where(Coupon.id.in_([a.coupon_id for a in assignments if a.coupon_id]))
        )
    }
    counts = {"offer": 0, "control": 0, "offer_orders": 0, "control_orders": 0, "codes": 0}
    for assignment in assignments:
        counts[assignment.group] += 1
        chance = base_rate + (true_effect if assignment.group == "offer" else 0.0)
        if rng.random() >= chance:
            continue
        counts[f"{assignment.group}_orders"] += 1
        at = assignment.assigned_at + timedelta(
            days=rng.uniform(0.5, WINDOW_DAYS - 0.5)  # inside the window, never on its edge
        )
        product_id, name, price = rng.choice(products)
        quantity = rng.randint(1, 3)
        subtotal = price * quantity
        coupon = coupons.get(assignment.coupon_id) if assignment.coupon_id else None
        usable = coupon is not None and (coupon.min_order is None or subtotal >= coupon.min_order)
        discount = discount_for(coupon, subtotal) if usable and coupon else Decimal("0.00")
        order = Order(
            user_id=assignment.user_id,
            status="delivered",
            subtotal=subtotal,
            discount=discount,
            total=subtotal - discount,
            item_count=quantity,
            shipping_address={"name": "Simulated Shopper", "country": "GB"},
            coupon_id=coupon.id if usable and coupon else None,
            created_at=at,
            updated_at=at,
        )
        order.items = [
            OrderItem(
                product_id=product_id,
                name=name,
                unit_price=price,
                quantity=quantity,
                line_total=subtotal,
            )
        ]
        order.status_history = [
            OrderStatusChange(status="pending", at=at, actor_id=assignment.user_id),
            OrderStatusChange(status="delivered", at=at + timedelta(days=2)),
        ]
        session.add(order)
        if usable and coupon:
            counts["codes"] += 1
            session.add(
                CouponRedemption(
                    coupon_id=coupon.id,
                    user_id=assignment.user_id,
                    order=order,
                    discount=discount,
                    redeemed_at=at,
                )
            )
            session.execute(
                update(Coupon)
                .where(Coupon.id == coupon.id)
                .values(redemption_count=Coupon.redemption_count + 1)
            )
    session.commit()
    return OfferResponses(
        offer_customers=counts["offer"],
        control_customers=counts["control"],
        offer_orders=counts["offer_orders"],
        control_orders=counts["control_orders"],
        codes_used=counts["codes"],
    )
