"""`shopfn simulate`: a realistic synthetic shop history, written with bulk inserts.

Two profiles. `default`: shoppers come in segments with different purchase rates and
baskets; some churn part-way (they go quiet after a burst of support messages and abandoned
carts); some only browse. `transactions`: what a real retail log holds, orders only
(`shopfn.simulate_transactions`). Everything is timestamped in the past `days` days, so
models can be trained at once.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.models import (
    BehaviorEvent,
    Order,
    OrderItem,
    OrderStatusChange,
    Product,
    TrainingRun,
    User,
)
from shop.passwords import hash_password
from shopfn import simulate_transactions
from shopfn.progress import progress_bar
from shopfn.simulate_baskets import BasketPicker

#: The shapes of history `simulate` can write.
PROFILES: tuple[str, ...] = ("default", "transactions")
#: Length of the history by profile when none is asked for: a retail log spans over a year.
DEFAULT_DAYS: dict[str, int] = {"default": 365, "transactions": 540}


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    days_between_orders: float  # mean gap while active
    basket_lines: tuple[int, int]
    browse_sessions_per_order: float
    churn_probability: float  # chance to go quiet part-way through the period


SEGMENTS: tuple[Segment, ...] = (
    Segment("loyal", 0.15, 9.0, (2, 4), 1.0, 0.05),
    Segment("regular", 0.35, 24.0, (1, 3), 1.5, 0.25),
    Segment("occasional", 0.30, 60.0, (1, 2), 2.0, 0.35),
    Segment("bargain", 0.10, 35.0, (1, 1), 3.0, 0.6),
    Segment("browser", 0.10, 0.0, (0, 0), 4.0, 0.5),
)


@dataclass
class SimulationResult:
    users: int
    orders: int
    events: int


@dataclass
class _Buffers:
    users: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    lines: list[list[dict[str, Any]]]
    cancelled_at: list[datetime | None]
    events: list[dict[str, Any]]


def simulate(
    session: Session,
    *,
    users: int,
    days: int,
    seed: int | None = None,
    now: datetime | None = None,
    profile: str = "default",
) -> SimulationResult:
    """Write `users` simulated customers with `days` days of history ending at `now`."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    rng = random.Random(seed)  # noqa: S311 - simulated data, not secrets
    now = now or utcnow()
    catalog = [
        ((pid, name, Decimal(price)), category)
        for pid, name, price, category in session.execute(
            select(Product.id, Product.name, Product.price, Product.category)
            .where(Product.is_active.is_(True))
            .order_by(Product.id)
        )
    ]
    products = [product for product, _ in catalog]
    if not products:
        raise ValueError("the catalog is empty: run `shopfn seed` first")
    buffers = _Buffers([], [], [], [], [])
    writer = _Writer(session, rng, buffers, now, products, BasketPicker(rng, catalog))
    if profile == "transactions":
        user_ids = _transaction_customers(writer, users, days)
    else:
        user_ids = _shoppers(writer, users, days)
    rows = len(buffers.orders) + len(buffers.events)
    with progress_bar(rows, "saving the history", unit="row") as bar:
        order_ids = _write_orders(session, buffers)
        bar.update(len(order_ids))
        for start_at in range(0, len(buffers.events), 20000):
            chunk = buffers.events[start_at : start_at + 20000]
            session.execute(insert(BehaviorEvent), chunk)
            bar.update(len(chunk))
    session.commit()
    return SimulationResult(users=len(user_ids), orders=len(order_ids), events=len(buffers.events))


def _insert_users(session: Session, signups: list[datetime]) -> list[int]:
    """One simulated customer per sign-up time; their ids in the same order."""
    # One real bcrypt hash of an unknown secret: simulated shoppers cannot sign in.
    password_hash = hash_password(secrets.token_urlsafe(24))
    tag = secrets.token_hex(3)
    rows = [
        {
            "email": f"sim-{tag}-{i}@example.com",
            "full_name": f"Simulated Shopper {i}",
            "password_hash": password_hash,
            "role": "customer",
            "is_active": True,
            "created_at": signup,
            "updated_at": signup,
        }
        for i, signup in enumerate(signups)
    ]
    return list(
        session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True), rows
        ).scalars()
    )


@dataclass
class _Writer:
    """What every profile writes with: the session, the random source, buffers and catalog."""

    session: Session
    rng: random.Random
    buffers: _Buffers
    now: datetime
    products: list[tuple[int, str, Decimal]]
    baskets: BasketPicker


def _shoppers(writer: _Writer, users: int, days: int) -> list[int]:
    """The default profile: segmented shoppers with sign-ups, browsing, carts and orders."""
    rng, now = writer.rng, writer.now
    start = now - timedelta(days=days)
    plans: list[tuple[Segment, datetime]] = []
    for _ in range(users):
        segment = rng.choices(SEGMENTS, weights=[s.share for s in SEGMENTS])[0]
        plans.append((segment, start + timedelta(seconds=rng.uniform(0, days * 0.7) * 86400)))
    user_ids = _insert_users(writer.session, [signup for _, signup in plans])
    with progress_bar(len(user_ids), "simulating shoppers", unit="shopper") as bar:
        for (segment, signup), user_id in zip(plans, user_ids, strict=True):
            _shopper(rng, writer.buffers, user_id, segment, signup, now, writer)
            bar.update()
    return user_ids


def _transaction_customers(writer: _Writer, users: int, days: int) -> list[int]:
    """The transactions profile: customers known from their first order, and orders only."""
    rng, now = writer.rng, writer.now
    start = now - timedelta(days=days)
    with progress_bar(users, "simulating customers", unit="customer") as bar:
        histories = []
        for _ in range(users):
            first = simulate_transactions.first_order_at(rng, start, days)
            histories.append(simulate_transactions.purchase_times(rng, first, now))
            bar.update()
    user_ids = _insert_users(writer.session, [times[0] for times in histories])
    buffers = writer.buffers
    for user_id, times in zip(user_ids, histories, strict=True):
        values = simulate_transactions.order_values(rng, len(times))
        for at, value in zip(times, values, strict=True):
            order, lines = simulate_transactions.transaction_order(
                rng, user_id, at, value, rng.choice(writer.products)
            )
            buffers.orders.append(order)
            buffers.lines.append(lines)
            buffers.cancelled_at.append(None)
    return user_ids


def _event(
    buffers: _Buffers,
    user_id: int,
    kind: str,
    at: datetime,
    product_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    buffers.events.append(
        {
            "user_id": user_id,
            "event_type": kind,
            "product_id": product_id,
            "payload": payload or {},
            "occurred_at": at,
        }
    )


def _browse(
    rng: random.Random,
    buffers: _Buffers,
    user_id: int,
    at: datetime,
    products: list[tuple[int, str, Decimal]],
    *,
    abandon: bool,
) -> None:
    _event(buffers, user_id, "login", at)
    if rng.random() < 0.5:
        _event(buffers, user_id, "search", at + timedelta(seconds=20), payload={"q": "gift"})
    for k in range(rng.randint(1, 6)):
        pid = rng.choice(products)[0]
        _event(buffers, user_id, "product_view", at + timedelta(minutes=1 + k), pid)
    if abandon:
        pid = rng.choice(products)[0]
        _event(buffers, user_id, "cart_add", at + timedelta(minutes=8), pid)
        if rng.random() < 0.3:
            _event(buffers, user_id, "cart_remove", at + timedelta(minutes=9), pid)


def _shopper(
    rng: random.Random,
    buffers: _Buffers,
    user_id: int,
    segment: Segment,
    signup: datetime,
    now: datetime,
    writer: _Writer,
) -> None:
    products = writer.products
    taste = writer.baskets.taste(rng)
    span = (now - signup).total_seconds() / 86400
    quits = span * rng.uniform(0.2, 0.9) if rng.random() < segment.churn_probability else None
    active_until = signup + timedelta(days=quits) if quits is not None else now
    # Each shopper's own pace varies around the segment's.
    pace = rng.lognormvariate(0, 0.4)
    if segment.days_between_orders > 0:
        at = signup + timedelta(days=rng.expovariate(1 / (segment.days_between_orders * pace)))
        while at < active_until:
            _order(
                rng,
                buffers,
                user_id,
                at,
                now,
                products,
                writer.baskets.basket(rng, taste, lines=rng.randint(*segment.basket_lines)),
            )
            at += timedelta(days=rng.expovariate(1 / (segment.days_between_orders * pace)))
    browse_gap = max(segment.days_between_orders or 20.0, 5.0) / segment.browse_sessions_per_order
    at = signup + timedelta(days=rng.expovariate(1 / browse_gap))
    while at < active_until:
        _browse(rng, buffers, user_id, at, products, abandon=rng.random() < 0.35)
        at += timedelta(days=rng.expovariate(1 / browse_gap))
    if quits is not None and active_until < now:
        # The run-up to leaving: complaints and carts left behind.
        for k in range(rng.randint(1, 3)):
            when = active_until - timedelta(days=rng.uniform(0, 10), hours=k)
            if when > signup:
                _event(buffers, user_id, "support_message", when, payload={"topic": "delivery"})
                _browse(rng, buffers, user_id, when, products, abandon=True)


def _order(
    rng: random.Random,
    buffers: _Buffers,
    user_id: int,
    at: datetime,
    now: datetime,
    products: list[tuple[int, str, Decimal]],
    picks: list[tuple[int, str, Decimal]],
) -> None:
    _browse(rng, buffers, user_id, at - timedelta(minutes=15), products, abandon=False)
    lines: list[dict[str, Any]] = []
    for pid, name, price in picks:
        quantity = 1 if rng.random() < 0.8 else 2
        lines.append(
            {
                "product_id": pid,
                "name": name,
                "unit_price": price,
                "quantity": quantity,
                "line_total": price * quantity,
            }
        )
        _event(buffers, user_id, "cart_add", at - timedelta(minutes=5), pid)
    _event(buffers, user_id, "checkout", at)
    total = sum((line["line_total"] for line in lines), Decimal("0.00"))
    cancelled = rng.random() < 0.05
    age_days = (now - at).total_seconds() / 86400
    status = "cancelled" if cancelled else "delivered" if age_days > 7 else "shipped"
    cancel_at = at + timedelta(hours=rng.uniform(1, 20)) if cancelled else None
    if cancel_at is not None and cancel_at > now:
        cancel_at = now
    if cancel_at is not None:
        _event(buffers, user_id, "order_cancel", cancel_at)
    buffers.orders.append(
        {
            "user_id": user_id,
            "status": status,
            "subtotal": total,
            "total": total,
            "item_count": sum(line["quantity"] for line in lines),
            "shipping_address": {
                "name": "Simulated Shopper",
                "line1": "1 Example Street",
                "city": "Springfield",
                "postal_code": "12345",
                "country": "US",
            },
            "created_at": at,
            "updated_at": cancel_at or at,
            # Paid at once, as a shopper paying on the checkout page: models learn from paid
            # orders only (shop.ml.paid).
            "paid_at": at,
        }
    )
    buffers.lines.append(lines)
    buffers.cancelled_at.append(cancel_at)


def _write_orders(session: Session, buffers: _Buffers) -> list[int]:
    order_ids: list[int] = []
    for start in range(0, len(buffers.orders), 5000):
        chunk = buffers.orders[start : start + 5000]
        order_ids.extend(
            session.execute(
                insert(Order).returning(Order.id, sort_by_parameter_order=True), chunk
            ).scalars()
        )
    items: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for order_id, order, lines, cancel_at in zip(
        order_ids, buffers.orders, buffers.lines, buffers.cancelled_at, strict=True
    ):
        items.extend({**line, "order_id": order_id} for line in lines)
        placed = order["created_at"]
        changes.append(_change(order_id, "awaiting_payment", placed, "shopper"))
        changes.append(_change(order_id, "paid", placed, "provider"))
        if cancel_at is not None:
            changes.append(_change(order_id, "cancelled", cancel_at, "shopper"))
        else:
            changes.append(_change(order_id, order["status"], placed, "admin"))
    for start in range(0, len(items), 20000):
        session.execute(insert(OrderItem), items[start : start + 20000])
    for start in range(0, len(changes), 20000):
        session.execute(insert(OrderStatusChange), changes[start : start + 20000])
    return order_ids


def _change(order_id: int, status: str, at: datetime, actor_kind: str) -> dict[str, Any]:
    return {"order_id": order_id, "status": status, "at": at, "actor_kind": actor_kind}


#: The reason of a first start's training run stopped by Ctrl-C: the next start trains again.
FIRST_RUN_STOPPED = "stopped with Ctrl-C during the first start; the next start trains again"


def _first_training_stopped(session: Session) -> bool:
    """True when a first start's training was stopped and no run has ended well since."""
    stopped = select(TrainingRun.id).where(TrainingRun.reason == FIRST_RUN_STOPPED).limit(1)
    ended = select(TrainingRun.id).where(TrainingRun.status.in_(("succeeded", "skipped")))
    return session.scalar(stopped) is not None and session.scalar(ended.limit(1)) is None


def seed_first_start(users: int = 150, days: int = 180) -> bool:
    """On an empty shop, simulate a small history and train the first models; True if it did.

    So the storefront and the ML pages have something to show the moment `shopfn serve`
    is up. Ctrl-C during that first training closes its run as failed (so it does not hold
    the one active slot for half an hour) and the next start trains again, rather than leave
    the shop without models until the nightly run. SEED_DEMO_HISTORY=false turns it all off.
    """
    import logging

    from sqlalchemy import func

    from shop.db import refresh_statistics, session_scope
    from shop.ml.config import get_ml_settings
    from shop.ml.retraining import execute_run
    from shop.ml.runs import RunAlreadyActive, mark_finished, queue_run, run_outcome
    from shop.progress import watched_by

    if not get_ml_settings().seed_demo_history:
        return False
    log = logging.getLogger("shopfn.simulate")
    with session_scope() as session:
        empty = not session.scalar(select(func.count()).select_from(Order)) and not (
            session.scalar(select(func.count()).where(User.role == "customer"))
        )
        if not empty and not _first_training_stopped(session):
            return False
        result = simulate(session, users=users, days=days, seed=2026) if empty else None
    if result is not None:
        refresh_statistics()
        log.info(
            "empty shop: made up %d demo customers and their %d orders over the last %d days, "
            "so the pages have something to show (SEED_DEMO_HISTORY=false skips this)",
            result.users,
            result.orders,
            days,
        )
    else:
        log.info("the first training was stopped last time: training the first models now")
    try:
        with session_scope() as session:
            run_id = queue_run(session, "manual").id
    except RunAlreadyActive:
        return True
    try:
        with watched_by(progress_bar):
            execute_run(run_id)
    except KeyboardInterrupt:
        with session_scope() as session:
            mark_finished(session, run_id, "failed", reason=FIRST_RUN_STOPPED)
        raise
    from shopfn.job_report import describe_run

    with session_scope() as session:
        log.log(*describe_run(run_outcome(session, run_id), name="First training"))
    return True
