"""Sales figures for the admin dashboard, aggregated by the database (GROUP BY), not Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, select, type_coerce
from sqlalchemy.orm import Session

from shop.coltypes import Money, utcnow
from shop.models import Order, OrderItem
from shop.models.commerce import ORDER_STATUSES

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DaySales:
    day: date
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class ProductSales:
    product_id: int
    name: str
    quantity: int
    revenue: Decimal


@dataclass(frozen=True)
class SalesTotals:
    orders: int
    revenue: Decimal
    average_order_value: Decimal
    items_sold: int
    customers: int
    cancelled: int


@dataclass(frozen=True)
class SalesStats:
    days: int
    since: datetime
    until: datetime
    totals: SalesTotals
    by_day: list[DaySales]
    by_status: dict[str, int]
    top_products_by_revenue: list[ProductSales]
    top_products_by_quantity: list[ProductSales]


def _utc_day(column: Any, dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in the backend's own SQL."""
    if dialect == "postgresql":
        # A literal, not a bound parameter: GROUP BY must repeat the exact same expression.
        return func.date(func.timezone(literal_column("'UTC'"), column))
    return func.date(column)  # SQLite and MariaDB store naive UTC already


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _money(expression: Any) -> ColumnElement[Decimal]:
    """A SUM of money read back as a two-place Decimal on every backend (SQLite sums floats)."""
    return type_coerce(func.coalesce(func.sum(expression), 0), Money)


def sales_stats(session: Session, days: int = 30, *, top: int = 10) -> SalesStats:
    """Orders and revenue per UTC day over the last `days` days (today included), by status,
    the best-selling products, and totals. Revenue leaves cancelled orders out."""
    today = utcnow().date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=utcnow().tzinfo)
    until = utcnow()
    in_window = (Order.created_at >= since,)
    live = Order.status != "cancelled"
    dialect = session.get_bind().dialect.name

    day = _utc_day(Order.created_at, dialect).label("day")
    per_day = {
        _as_date(row.day): row
        for row in session.execute(
            select(
                day,
                func.count().label("orders"),
                _money(case((live, Order.total), else_=0)).label("revenue"),
            )
            .where(*in_window)
            .group_by(day)
        )
    }
    by_day = []
    for offset in range(days):
        current = first_day + timedelta(days=offset)
        row = per_day.get(current)
        by_day.append(
            DaySales(
                day=current,
                orders=row.orders if row else 0,
                revenue=row.revenue if row else ZERO,
            )
        )

    by_status = dict.fromkeys(ORDER_STATUSES, 0)
    by_status.update(
        session.execute(
            select(Order.status, func.count()).where(*in_window).group_by(Order.status)
        ).all()
    )

    totals_row = session.execute(
        select(
            func.count().label("orders"),
            _money(Order.total).label("revenue"),
            func.count(func.distinct(Order.user_id)).label("customers"),
            func.coalesce(func.sum(Order.item_count), 0).label("items_sold"),
        ).where(*in_window, live)
    ).one()
    revenue: Decimal = totals_row.revenue
    average = (revenue / totals_row.orders).quantize(Decimal("0.01")) if totals_row.orders else ZERO
    totals = SalesTotals(
        orders=totals_row.orders,
        revenue=revenue,
        average_order_value=average,
        items_sold=int(totals_row.items_sold),
        customers=totals_row.customers,
        cancelled=by_status["cancelled"],
    )
    return SalesStats(
        days=days,
        since=since,
        until=until,
        totals=totals,
        by_day=by_day,
        by_status=by_status,
        top_products_by_revenue=_top_products(session, since, top, by="revenue"),
        top_products_by_quantity=_top_products(session, since, top, by="quantity"),
    )


def _top_products(session: Session, since: datetime, limit: int, *, by: str) -> list[ProductSales]:
    quantity = func.sum(OrderItem.quantity).label("quantity")
    revenue = _money(OrderItem.line_total).label("revenue")
    ranking = (
        (revenue.desc(), quantity.desc()) if by == "revenue" else (quantity.desc(), revenue.desc())
    )
    rows = session.execute(
        select(OrderItem.product_id, func.max(OrderItem.name).label("name"), quantity, revenue)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.created_at >= since, Order.status != "cancelled")
        .group_by(OrderItem.product_id)
        .order_by(*ranking, OrderItem.product_id)
        .limit(limit)
    )
    return [
        ProductSales(
            product_id=row.product_id,
            name=row.name,
            quantity=int(row.quantity),
            revenue=row.revenue,
        )
        for row in rows
    ]
