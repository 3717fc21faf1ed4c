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


def test_only_paid_money_counts_from_the_moment_it_was_paid(db: str) -> None:
    """Orders of the payment flow count once paid; never-paid ones never; a refund ends one."""
    from shop.db import session_scope
    from shop.ml.features import compute_features
    from shop.models import Order, OrderStatusChange

    def flow_order(user: int, days_before: int, status: str, paid_days_before: int | None) -> int:
        order_id = _order(session, user, CUTOFF - timedelta(days=days_before), "10.00", status)
        order = session.get(Order, order_id)
        assert order is not None
        order.payment_provider = "stripe"
        if paid_days_before is not None:
            order.paid_at = CUTOFF - timedelta(days=paid_days_before)
        return order_id

    with session_scope() as session:
        dana = _user(session, "dana@example.com", CUTOFF - timedelta(days=60))
        flow_order(dana, 20, "paid", 20)  # counts
        flow_order(dana, 15, "awaiting_payment", None)  # never paid
        flow_order(dana, 14, "expired", None)  # never paid
        flow_order(dana, 3, "paid", -1)  # paid after the cutoff: not yet
        refunded = flow_order(dana, 12, "refunded", 12)
        session.add(
            OrderStatusChange(order_id=refunded, status="refunded", at=CUTOFF - timedelta(days=5))
        )
        _order(session, dana, CUTOFF - timedelta(days=30), "7.00")  # imported: delivered
    with session_scope() as session:
        frame = compute_features(session, CUTOFF, [dana])
    assert frame.column("frequency").tolist() == [2.0]
    assert frame.column("monetary_total").tolist() == [17.0]
    assert frame.column("cancelled_orders").tolist() == [1.0]


def test_one_user_and_a_batch_get_exactly_the_training_population_features(db: str) -> None:
    """Serving computes a user's features with the same SQL as training: identical rows."""
    from shop.db import session_scope
    from shop.ml.features import FEATURE_NAMES, compute_features

    with session_scope() as session:
        ann = _user(session, "ann@example.com", CUTOFF - timedelta(days=200))
        bob = _user(session, "bob@example.com", CUTOFF - timedelta(days=100))
        quiet = _user(session, "quiet@example.com", CUTOFF - timedelta(days=20))
        _order(session, ann, CUTOFF - timedelta(days=3), "10.50")
        _order(session, ann, CUTOFF - timedelta(days=60), "20.25")
        _order(session, bob, CUTOFF - timedelta(days=40), "99.99")
        _order(session, bob, CUTOFF + timedelta(days=1), "5.00")  # after the cutoff: ignored
        for kind, days in (("login", 2), ("login", 50), ("cart_add", 5), ("checkout", 5)):
            _event(session, ann, kind, CUTOFF - timedelta(days=days))
        _event(session, bob, "cart_add", CUTOFF - timedelta(days=80))
        _event(session, bob, "search", CUTOFF - timedelta(hours=1))
    with session_scope() as session:
        population = compute_features(session, CUTOFF)
        singles = [compute_features(session, CUTOFF, [u]) for u in (quiet, bob, ann)]
        batch = compute_features(session, CUTOFF, [quiet, 999_999, ann, bob])
    by_id = {int(u): population.matrix[i] for i, u in enumerate(population.user_ids)}
    assert sorted(by_id) == sorted([ann, bob, quiet])
    for single in singles:
        assert np.array_equal(single.matrix[0], by_id[int(single.user_ids[0])])
    assert batch.user_ids.tolist() == sorted([ann, bob, quiet])
    assert np.array_equal(batch.matrix, np.stack([by_id[int(u)] for u in batch.user_ids]))

    ann_row = dict(zip(FEATURE_NAMES, by_id[ann].tolist(), strict=True))
    assert ann_row["frequency"] == 2.0 and ann_row["monetary_total"] == 30.75
    assert (ann_row["orders_7d"], ann_row["orders_30d"], ann_row["orders_90d"]) == (1, 1, 2)
    assert (ann_row["login_7d"], ann_row["login_30d"], ann_row["login_90d"]) == (1, 1, 2)
    assert ann_row["days_since_last_login"] == 2.0 and ann_row["recency_days"] == 3.0
    assert ann_row["cart_abandonment_90d"] == 0.0
    bob_row = dict(zip(FEATURE_NAMES, by_id[bob].tolist(), strict=True))
    assert bob_row["frequency"] == 1.0 and bob_row["spend_30d"] == 0.0
    assert bob_row["cart_abandonment_90d"] == 1.0
    assert bob_row["days_since_last_login"] == bob_row["tenure_days"] == 100.0
    assert abs(bob_row["days_since_last_event"] - 1 / 24) < 1e-9
    quiet_row = dict(zip(FEATURE_NAMES, by_id[quiet].tolist(), strict=True))
    assert quiet_row["recency_days"] == quiet_row["tenure_days"] == 20.0
    assert sum(quiet_row[f"{t}_90d"] for t in ("login", "search", "cart_add")) == 0.0
