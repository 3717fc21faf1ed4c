"""The measured effect of a campaign: from orders and code uses, with an honest interval."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.db import session_scope
from shop.models import CampaignAssignment, Coupon, CouponRedemption, Order, User
from shop.services import campaign_effect, retention


@pytest.mark.parametrize(
    ("counts", "expected"),
    [  # Newcombe (1998), Statistics in Medicine 17:873-890, table II, method 10
        ((56, 70, 48, 80), (0.2000, 0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.6000, 0.1705, 0.8090)),
        ((5, 56, 0, 29), (0.0893, -0.0381, 0.1926)),
    ],
)
def test_the_interval_matches_newcombes_published_values(
    counts: tuple[int, int, int, int], expected: tuple[float, float, float]
) -> None:
    assert campaign_effect.newcombe(*counts) == pytest.approx(expected, abs=5e-5)


def add_customer(
    session: Session, campaign_id: int, group: str, at: datetime
) -> CampaignAssignment:
    user = User(email=f"e-{uuid.uuid4().hex[:10]}@example.com", full_name="C", password_hash="x")
    session.add(user)
    session.flush()
    assignment = CampaignAssignment(
        campaign_id=campaign_id, user_id=user.id, group=group, assigned_at=at, churn_probability=0.9
    )
    session.add(assignment)
    return assignment


def add_order(
    session: Session,
    user_id: int,
    at: datetime,
    total: str,
    *,
    status: str = "delivered",
    coupon: Coupon | None = None,
    discount: str = "0",
    refunded: str = "0",
) -> None:
    order = Order(
        user_id=user_id,
        status=status,
        subtotal=Decimal(total) + Decimal(discount),
        discount=Decimal(discount),
        total=Decimal(total),
        refunded_total=Decimal(refunded),
        item_count=1,
        shipping_address={},
        created_at=at,
        updated_at=at,
        coupon_id=coupon.id if coupon else None,
    )
    session.add(order)
    if coupon is not None:
        session.add(
            CouponRedemption(
                coupon_id=coupon.id, user_id=user_id, order=order, discount=Decimal(discount)
            )
        )


def test_the_effect_counts_orders_inside_each_customers_window_net_of_discounts(
    db: str,
) -> None:
    start = utcnow() - timedelta(days=60)
    with session_scope() as session:
        campaign = retention.create_campaign(
            session,
            {
                "name": "Back",
                "churn_threshold": 0.5,
                "offer_kind": "percent",
                "offer_value": Decimal("10"),
                "starts_at": start,
                "days": 90,
            },
        )
        cid = campaign.id
        offered = [add_customer(session, cid, "offer", start) for _ in range(20)]
        control = [add_customer(session, cid, "control", start).user_id for _ in range(10)]
        offer = [a.user_id for a in offered]
        for assignment in offered[:8]:  # 8 of 20 order again with their code: 45.00 after 5 off
            user_id = assignment.user_id
            coupon = Coupon(code=f"P-{user_id}", kind="amount", value=Decimal("5"), user_id=user_id)
            session.add(coupon)
            session.flush()
            assignment.coupon_id = coupon.id
            add_order(
                session, user_id, start + timedelta(days=3), "45.00", coupon=coupon, discount="5"
            )
        for user_id in control[:2]:  # 2 of 10 order again, 50.00 each
            add_order(session, user_id, start + timedelta(days=29), "50.00")
        # Not counted: before the assignment, after the 30 days, or cancelled.
        add_order(session, offer[10], start - timedelta(days=1), "80.00")
        add_order(session, offer[11], start + timedelta(days=31), "80.00")
        add_order(session, control[5], start + timedelta(days=4), "80.00", status="cancelled")
        # Nor orders whose money was never taken or went back in full.
        for user_id, status in zip(
            offer[12:17],
            ("awaiting_payment", "payment_failed", "expired", "cancelled", "refunded"),
            strict=True,
        ):
            add_order(session, user_id, start + timedelta(days=2), "70.00", status=status)
        # A partial refund counts the order, less what went back: 50.00 - 20.00.
        add_order(
            session,
            control[3],
            start + timedelta(days=6),
            "50.00",
            status="partially_refunded",
            refunded="20.00",
        )

    with session_scope() as session:
        effect = campaign_effect.measure(session, cid)
    assert effect["offer"] == {
        "customers": 20,
        "ordered_again": 8,
        "share_ordered_again": 0.4,
        "revenue": Decimal("360.00"),
        "revenue_per_customer": Decimal("18.00"),
        "discounts": Decimal("40.00"),
        "codes_used": 8,
        "still_open": 0,
    }
    assert (effect["control"]["ordered_again"], effect["control"]["revenue_per_customer"]) == (
        3,
        Decimal("13.00"),
    )
    assert effect["summary"] == (
        "Of 20 customers we offered 10% off, 40% ordered again within 30 days; "
        "of the 10 we left alone, 30% did."
    )
    low, high = effect["difference"]["low"], effect["difference"]["high"]
    assert effect["difference"]["share"] == pytest.approx(0.1)
    assert low < 0 < high and effect["distinguishable"] is False
    assert "not yet distinguishable from zero" in effect["verdict"]
    assert effect["revenue_per_customer_difference"] == Decimal("5.00")
    assert effect["revenue_sentence"] == (
        "Revenue per customer, after discounts and refunds: 18.00 with the offer, 13.00 without."
    )


def test_an_empty_campaign_says_there_is_nothing_to_compare(db: str) -> None:
    with session_scope() as session:
        cid = retention.create_campaign(
            session,
            {
                "name": "New",
                "churn_threshold": 0.5,
                "offer_kind": "amount",
                "offer_value": Decimal(5),
            },
        ).id
        effect = campaign_effect.measure(session, cid)
    assert effect["difference"] is None
    assert effect["summary"] == "No customers in both groups yet: nothing to compare."
