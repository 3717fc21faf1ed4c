"""Sales figures for the admin dashboard, aggregated by the database (GROUP BY), not Python."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, type_coerce
from sqlalchemy.orm import Session

from shop.coltypes import Money, utcnow
from shop.models import Order, OrderItem, Product
from shop.order_statuses import ORDER_STATUSES
from shop.services.order_status import PAID

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
    the best-selling products, and totals. Revenue is paid money only: orders the provider
    confirmed (paid, shipped, delivered, partly refunded), less what was refunded.

    Three queries, each reading the window once: orders per (day, status), from which every
    count and sum is folded here; distinct customers; and both best-seller rankings.
    """
    today = utcnow().date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=utcnow().tzinfo)
    until = utcnow()
    dialect = session.get_bind().dialect.name

    by_status = dict.fromkeys(ORDER_STATUSES, 0)
    day_orders: dict[date, int] = defaultdict(int)
    day_revenue: dict[date, Decimal] = defaultdict(lambda: ZERO)
    live_orders, revenue, items_sold = 0, ZERO, 0
    for row in _orders_by_day_and_status(session, since, dialect):
        day = _as_date(row.day)
        day_orders[day] += row.orders
        by_status[row.status] += row.orders
        if row.status in PAID:
            day_revenue[day] += row.revenue
            live_orders += row.orders
            revenue += row.revenue
            items_sold += int(row.items)
    by_day = [
        DaySales(day=day, orders=day_orders.get(day, 0), revenue=day_revenue.get(day, ZERO))
        for day in (first_day + timedelta(days=offset) for offset in range(days))
    ]

    customers = session.execute(
        select(func.count(func.distinct(Order.user_id))).where(
            Order.created_at >= since, Order.status.in_(PAID)
        )
    ).scalar_one()
    average = (revenue / live_orders).quantize(Decimal("0.01")) if live_orders else ZERO
    totals = SalesTotals(
        orders=live_orders,
        revenue=revenue,
        average_order_value=average,
        items_sold=items_sold,
        customers=customers,
        cancelled=by_status["cancelled"],
    )
    by_revenue, by_quantity = _top_products(session, since, top)
    return SalesStats(
        days=days,
        since=since,
        until=until,
        totals=totals,
        by_day=by_day,
        by_status=by_status,
        top_products_by_revenue=by_revenue,
        top_products_by_quantity=by_quantity,
    )


def _orders_by_day_and_status(session: Session, since: datetime, dialect: str) -> Any:
    """Count, total and items of the window's orders per UTC day and status (one scan)."""
    day = _utc_day(Order.created_at, dialect).label("day")
    return session.execute(
        select(
            day,
            Order.status,
            func.count().label("orders"),
            _money(Order.total - Order.refunded_total).label("revenue"),
            func.coalesce(func.sum(Order.item_count), 0).label("items"),
        )
        .where(Order.created_at >= since)
        .group_by(day, Order.status)
    )


def _top_products(
    session: Session, since: datetime, limit: int
) -> tuple[list[ProductSales], list[ProductSales]]:
    """The best sellers by revenue and by quantity, from one join of the window's order lines.

    Both rankings are window functions over the same per-product sums, so order_items is
    joined once; each breaks ties on the other measure, then on the product id. A product is
    shown by its catalog name: lines keep the name they were sold under (an imported till
    line's description), which may differ from line to line.
    """
    quantity = func.sum(OrderItem.quantity).label("quantity")
    revenue = _money(OrderItem.line_total).label("revenue")
    sold = (
        select(OrderItem.product_id, quantity, revenue)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.created_at >= since, Order.status.in_(PAID))
        .group_by(OrderItem.product_id)
        .subquery("sold")
    )
    by_revenue = func.row_number().over(
        order_by=(sold.c.revenue.desc(), sold.c.quantity.desc(), sold.c.product_id)
    )
    by_quantity = func.row_number().over(
        order_by=(sold.c.quantity.desc(), sold.c.revenue.desc(), sold.c.product_id)
    )
    ranked = select(
        sold, by_revenue.label("revenue_rank"), by_quantity.label("quantity_rank")
    ).subquery("ranked")
    rows = session.execute(
        select(ranked, Product.name)
        .join(Product, Product.id == ranked.c.product_id)
        .where((ranked.c.revenue_rank <= limit) | (ranked.c.quantity_rank <= limit))
    ).all()

    def ranking(rank: str) -> list[ProductSales]:
        chosen = sorted((row for row in rows if getattr(row, rank) <= limit), key=attrgetter(rank))
        return [
            ProductSales(
                product_id=row.product_id,
                name=row.name,
                quantity=int(row.quantity),
                revenue=row.revenue,
            )
            for row in chosen
        ]

    return ranking("revenue_rank"), ranking("quantity_rank")
