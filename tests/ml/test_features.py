"""Features are point-in-time: nothing after the cutoff changes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np

from shop.coltypes import utcnow

CUTOFF = datetime(2026, 9, 1, tzinfo=utcnow().tzinfo)


def _user(session, email: str, created: datetime) -> int:  # type: ignore[no-untyped-def]
    from shop.models import User

    user = User(email=email, full_name="F", password_hash="x", role="customer", created_at=created)
    session.add(user)
    session.flush()
    return user.id


def _order(session, user_id: int, at: datetime, total: str, status: str = "delivered") -> int:  # type: ignore[no-untyped-def]
    from shop.models import Order, OrderStatusChange

    order = Order(
        user_id=user_id,
        status=status,
        subtotal=Decimal(total),
        total=Decimal(total),
        item_count=1,
        shipping_address={},
        created_at=at,
        updated_at=at,
    )
    session.add(order)
    session.flush()
    session.add(OrderStatusChange(order_id=order.id, status="pending", at=at))
    return order.id


def _event(session, user_id: int, kind: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    from shop.models import BehaviorEvent

    session.add(BehaviorEvent(user_id=user_id, event_type=kind, payload={}, occurred_at=at))


def test_adding_data_after_the_cutoff_does_not_change_features(db: str) -> None:
    from shop.db import session_scope
    from shop.ml.features import compute_features
    from shop.models import Order, OrderStatusChange

    with session_scope() as session:
        alice = _user(session, "alice@example.com", CUTOFF - timedelta(days=200))
        bob = _user(session, "bob@example.com", CUTOFF - timedelta(days=40))
        _order(session, alice, CUTOFF - timedelta(days=100), "40.00")
        later_cancelled = _order(session, alice, CUTOFF - timedelta(days=5), "25.50")
        _order(session, bob, CUTOFF - timedelta(days=20), "99.99")
        for days, kind in ((3, "login"), (2, "product_view"), (1, "cart_add"), (60, "search")):
            _event(session, alice, kind, CUTOFF - timedelta(days=days))
        _event(session, bob, "support_message", CUTOFF - timedelta(days=10))
    with session_scope() as session:
        before = compute_features(session, CUTOFF)

    with session_scope() as session:
        # The future: new orders and events, and a cancellation of an order placed before.
        _order(session, alice, CUTOFF + timedelta(days=1), "500.00")
        _order(session, bob, CUTOFF + timedelta(hours=1), "12.00")
        for kind in ("login", "checkout", "support_message", "cart_add"):
            _event(session, alice, kind, CUTOFF + timedelta(minutes=5))
            _event(session, bob, kind, CUTOFF)
        order = session.get(Order, later_cancelled)
        order.status = "cancelled"
        session.add(
            OrderStatusChange(
                order_id=later_cancelled, status="cancelled", at=CUTOFF + timedelta(days=2)
            )
        )
    with session_scope() as session:
        after = compute_features(session, CUTOFF)

    assert list(before.user_ids) == list(after.user_ids) == [alice, bob]
    assert np.array_equal(before.matrix, after.matrix)
    assert before.column("frequency").tolist() == [2.0, 1.0]
    assert before.column("monetary_total").tolist() == [65.5, 99.99]
    assert before.column("cancelled_orders").tolist() == [0.0, 0.0]
    assert before.column("support_message_30d").tolist() == [0.0, 1.0]
    assert round(before.column("days_since_last_login")[0], 6) == 3.0
    # Bob never logged in: "since sign-up".
    assert round(before.column("days_since_last_login")[1], 6) == 40.0
    assert before.column("cart_abandonment_90d").tolist() == [1.0, 0.0]


def test_a_cancellation_before_the_cutoff_counts_as_cancelled(db: str) -> None:
    from shop.db import session_scope
    from shop.ml.features import compute_features
    from shop.models import OrderStatusChange

    with session_scope() as session:
        carol = _user(session, "carol@example.com", CUTOFF - timedelta(days=50))
        order_id = _order(session, carol, CUTOFF - timedelta(days=10), "30.00", "cancelled")
        session.add(
            OrderStatusChange(order_id=order_id, status="cancelled", at=CUTOFF - timedelta(days=9))
        )
    with session_scope() as session:
        frame = compute_features(session, CUTOFF, [carol, 424242])
    assert frame.user_ids.tolist() == [carol]  # unknown ids are dropped
    assert frame.column("frequency").tolist() == [0.0]
    assert frame.column("cancelled_orders").tolist() == [1.0]
    assert frame.column("recency_days").tolist() == frame.column("tenure_days").tolist()
