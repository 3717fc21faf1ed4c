"""Expiry: unpaid orders past their hold give their stock back.

The job walks unpaid orders whose hold has ended, in batches by id, and expires each in its
own short transaction: lock the order row, check it is still unpaid, cancel its
PaymentIntent at the provider, return the stock, commit. A payment racing the expiry is
settled by that lock and the provider's answer: if the provider had already taken the
payment, the cancel is refused and the order is left for the payment's event (which marks
it paid); if the cancel came first, the payment can no longer succeed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import Conflict, Unavailable
from shop.logging import get_logger
from shop.models import Order
from shop.payments import get_provider
from shop.services import payments
from shop.services.order_status import SYSTEM, UNPAID, lock_order, move, restock
from shop.settings import get_settings

#: Seconds of a scheduled invocation kept free after the last order.
SCHEDULED_SAFETY_SECONDS = 3.0


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
        while True:
            ids = list(
                session.scalars(
                    select(Order.id)
                    .where(Order.status.in_(UNPAID), Order.hold_until < now, Order.id > after)
                    .order_by(Order.id)
                    .limit(size)
                )
            )
            session.commit()
            if not ids:
                break
            for order_id in ids:
                if deadline is not None and time.monotonic() >= deadline:
                    report.complete = False
                    break
                _expire_one(session, order_id, now, report)
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


def _expire_one(session: Session, order_id: int, now: datetime, report: ExpiryReport) -> None:
    """Expire one order in its own transaction, if it is still unpaid and past its hold."""
    locked_at = time.perf_counter()
    try:
        order = lock_order(session, order_id)
        if order is None or order.status not in UNPAID or order.hold_until is None:
            session.rollback()
            return
        if order.hold_until >= now:
            session.rollback()
            return
        payments.cancel_intent(session, get_provider(session), order)
        move(session, order, "expired", SYSTEM)
        restock(session, order_id, f"order {order_id} expired unpaid", SYSTEM)
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
