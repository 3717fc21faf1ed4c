"""Expiry: unpaid orders past their hold give their stock back.

The job walks unpaid orders whose hold has ended, in batches by id, and expires each in its
own short transaction: lock the order row while moving it to expired (only if it is still
unpaid and past its hold), cancel its PaymentIntent, return the stock, commit. A payment
racing the expiry is settled by the provider's answer and that lock: if the provider had
already taken the payment, the cancel is refused and the order is left for the payment's
event (which marks it paid); if the cancel came first, the payment can no longer succeed.

With Stripe the cancel is a network call, so it is made before the transaction, never while
the order's row is locked (a lock would otherwise last as long as Stripe takes to answer):
a cancelled intent cannot be paid any more, so the order can then only end expired (or
cancelled by its shopper meanwhile). In test mode the cancel is a row of our own database
and is written inside the order's transaction.

It is the hot path of a shop with many abandoned checkouts, so each order costs a handful of
Core statements and no ORM loads: a batch's order lines are read in one query up front (an
unpaid order's lines never change), the order is locked and moved by one UPDATE ... RETURNING
(SELECT ... FOR UPDATE first where there is no RETURNING, MariaDB), and the stock comes back
in one UPDATE and one INSERT (`shop.services.order_status.return_stock`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import Conflict, Unavailable
from shop.logging import get_logger
from shop.models import Order, OrderItem, OrderStatusChange
from shop.payments import get_provider
from shop.payments.provider import PaymentProvider
from shop.services import payments
from shop.services.order_status import SYSTEM, TRANSITIONS, UNPAID, return_stock
from shop.settings import get_settings

#: Seconds of a scheduled invocation kept free after the last order.
SCHEDULED_SAFETY_SECONDS = 3.0
#: PostgreSQL: an expiry's commit does not wait for its WAL flush (SET LOCAL
#: synchronous_commit, set by the locking UPDATE itself: no round trip of its own), so the
#: order's row lock is released at once, not after a disk flush that a busy disk stretches
#: to hundreds of milliseconds. Safe because expiry is idempotent: a crash that loses the
#: last moments of expiries leaves those orders unpaid, and the next run expires them again
#: (an intent already cancelled at Stripe reads as cancelled, which `cancel_intent_id`
#: accepts).
ASYNC_COMMIT = func.set_config("synchronous_commit", "off", True)
#: Core tables: no ORM unit of work on the hot path.
HISTORY: Any = OrderStatusChange.__table__
#: The unpaid statuses the status machine lets expire (all of them, today).
EXPIRABLE: tuple[str, ...] = tuple(status for status in UNPAID if "expired" in TRANSITIONS[status])


@dataclass
class ExpiryReport:
    """Orders expired, left for a payment that got through, or left for the next run."""

    expired: int = 0
    paying: int = 0
    retry: int = 0
    complete: bool = True
    seconds: float = 0.0
    #: The longest any one order's row stayed locked, in milliseconds.
    longest_lock_ms: float = 0.0
    order_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "expired": self.expired,
            "paying": self.paying,
            "retry": self.retry,
            "complete": self.complete,
            "seconds": round(self.seconds, 3),
            "longest_lock_ms": round(self.longest_lock_ms, 2),
        }


def expire_unpaid(
    engine: Engine,
    now: datetime | None = None,
    *,
    batch_size: int | None = None,
    deadline: float | None = None,
) -> ExpiryReport:
    """Expire every unpaid order whose hold ended before `now`, batch by batch.

    `deadline` (a `time.monotonic()` instant) stops between orders; the next run goes on.
    """
    now = now or utcnow()
    size = batch_size or get_settings().payment_expiry_batch_size
    report = ExpiryReport()
    started = time.monotonic()
    after = 0
    with Session(engine, expire_on_commit=False) as session:
        provider: PaymentProvider | None = None
        while True:
            ids = list(
                session.scalars(
                    select(Order.id)
                    .where(Order.status.in_(EXPIRABLE), Order.hold_until < now, Order.id > after)
                    .order_by(Order.id)
                    .limit(size)
                )
            )
            lines = _lines(session, ids)
            session.commit()
            if not ids:
                break
            for order_id in ids:
                if deadline is not None and time.monotonic() >= deadline:
                    report.complete = False
                    break
                if provider is None:
                    try:
                        provider = get_provider(session)
                    except Unavailable:  # a Stripe secret with no key yet: every order waits
                        report.retry += 1
                        continue
                _expire_one(session, provider, order_id, lines.get(order_id, []), now, report)
            if not report.complete:
                break
            after = ids[-1]
    report.seconds = time.monotonic() - started
    get_logger().info("unpaid orders expired", extra=report.as_dict())
    return report


def expire_scheduled(engine: Engine, seconds_left: float) -> ExpiryReport:
    """The scheduled run, within the `seconds_left` of its invocation."""
    budget = max(1.0, seconds_left - SCHEDULED_SAFETY_SECONDS)
    return expire_unpaid(engine, deadline=time.monotonic() + budget)


def _lines(session: Session, order_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    """The (product id, units) lines of each order, in one query."""
    lines: dict[int, list[tuple[int, int]]] = {}
    if not order_ids:
        return lines
    items = OrderItem.__table__
    for order_id, product_id, quantity in session.execute(
        select(items.c.order_id, items.c.product_id, items.c.quantity).where(
            items.c.order_id.in_(order_ids), items.c.quantity > 0
        )
    ):
        lines.setdefault(order_id, []).append((product_id, quantity))
    return lines


def _expire_one(
    session: Session,
    provider: PaymentProvider,
    order_id: int,
    lines: list[tuple[int, int]],
    now: datetime,
    report: ExpiryReport,
) -> None:
    """Expire one order in its own transaction, if it is still unpaid and past its hold."""
    locked_at = time.perf_counter()
    try:
        cancelled: str | None = None
        if not provider.test_mode:  # the network call before the lock, never under it
            cancelled = _intent_of_expirable(session, order_id, now)
            session.rollback()
            payments.cancel_intent_id(provider, cancelled)
            locked_at = time.perf_counter()
        taken = _lock_and_expire(session, order_id, now)
        if taken is None:  # paid, cancelled or expired meanwhile
            session.rollback()
            return
        if taken[0] != cancelled:  # test mode, or an intent made since it was read (rare)
            payments.cancel_intent_id(provider, taken[0])
        return_stock(session, lines, f"order {order_id} expired unpaid", SYSTEM)
        session.commit()
        report.expired += 1
        report.order_ids.append(order_id)
    except Conflict:  # the payment got through first: its event marks the order paid
        session.rollback()
        report.paying += 1
    except Unavailable:
        session.rollback()
        report.retry += 1
    finally:
        report.longest_lock_ms = max(
            report.longest_lock_ms, (time.perf_counter() - locked_at) * 1000
        )


def _intent_of_expirable(session: Session, order_id: int, now: datetime) -> str | None:
    """The order's PaymentIntent id if it is still unpaid and past its hold (no lock)."""
    return session.scalar(
        select(Order.payment_intent_id).where(
            Order.id == order_id, Order.status.in_(EXPIRABLE), Order.hold_until < now
        )
    )


def _lock_and_expire(session: Session, order_id: int, now: datetime) -> tuple[str | None] | None:
    """Lock the order, set it expired and add its history row, if it still qualifies.

    Returns its PaymentIntent id (read under the lock), or None if the order is no longer
    unpaid and past its hold. UPDATE takes the row lock PostgreSQL and MariaDB would take
    with FOR UPDATE (and SQLite's write lock); PostgreSQL re-checks the WHERE after waiting
    for a racing payment's lock, so an order paid meanwhile is left alone. On PostgreSQL the
    history row is written by the same statement (a data-modifying WITH): one round trip.
    """
    orders: Any = Order.__table__
    still_expirable = (orders.c.status.in_(EXPIRABLE), orders.c.hold_until < now)
    at = utcnow()
    expire = update(orders).where(orders.c.id == order_id).values(status="expired", updated_at=at)
    history = {
        "order_id": order_id,
        "status": "expired",
        "at": at,
        "actor_id": SYSTEM.user_id,
        "actor_kind": SYSTEM.kind,
    }
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        moved = (
            expire.where(*still_expirable)
            .returning(orders.c.id, orders.c.payment_intent_id, ASYNC_COMMIT)
            .cte("moved")
        )
        logged = (
            insert(HISTORY)
            .from_select(
                list(history),
                select(
                    moved.c.id,
                    *(literal(history[name], HISTORY.c[name].type) for name in list(history)[1:]),
                ),
            )
            .cte("logged")
        )
        row = session.execute(select(moved.c.payment_intent_id).add_cte(logged)).first()
        return None if row is None else (row[0],)
    if dialect.update_returning:  # SQLite: one round trip for the lock and the move
        row = session.execute(
            expire.where(*still_expirable).returning(orders.c.payment_intent_id)
        ).first()
    else:  # MariaDB: no UPDATE ... RETURNING
        row = session.execute(
            select(orders.c.payment_intent_id)
            .where(orders.c.id == order_id, *still_expirable)
            .with_for_update()
        ).first()
        if row is not None:
            session.execute(expire)
    if row is None:
        return None
    session.execute(insert(HISTORY), history)
    return (row[0],)
