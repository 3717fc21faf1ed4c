"""Which orders the models learn from: paid money only.

An order placed through the payment flow (it has a `payment_provider`) counts once the
provider reported it paid (`paid_at`). Orders from before payments, imported logs and
simulated histories have no provider: they count unless their status says they were never
paid. A cancellation or a full refund takes an order out from that moment on (the feature
query reads those from the status history, point in time).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, literal_column, or_

#: Statuses of orders whose money was never taken.
NEVER_PAID: tuple[str, ...] = ("awaiting_payment", "payment_failed", "expired")
#: Status changes after which an order no longer counts (its money went back, or it never
#: went ahead). The partial index ix_order_status_changes_cancelled holds exactly these.
ENDED: tuple[str, ...] = ("cancelled", "refunded")
#: The index's predicate (migration 0010), which `ended` matches word for word.
ENDED_SQL = "status IN ('cancelled', 'refunded')"


def _inline(values: tuple[str, ...]) -> list[Any]:
    # Literals, not bound values: partial indexes and plans must see the constants.
    return [literal_column(f"'{value}'") for value in values]


def ended(change: Any) -> ColumnElement[bool]:
    """True for an `order_status_changes` row (or alias) that ended its order's money."""
    return change.c.status.in_(_inline(ENDED))


def paid_before(order: Any, as_of: Any) -> ColumnElement[bool]:
    """True for an order of the `orders` table (or alias) whose money was taken before
    `as_of`."""
    return or_(
        order.c.paid_at < as_of,
        and_(
            order.c.paid_at.is_(None),
            order.c.payment_provider.is_(None),
            order.c.status.not_in(_inline(NEVER_PAID)),
        ),
    )


def kept_money(order: Any) -> ColumnElement[bool]:
    """True for an order whose money was taken and kept, as its status says now."""
    return order.c.status.not_in(_inline((*NEVER_PAID, *ENDED)))
