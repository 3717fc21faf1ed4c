"""Request and response bodies of the orders function."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from shop.http.schemas import MoneyOut, RequestBody, Response, SafeStr
from shop.order_statuses import OrderStatus


class ShippingAddress(RequestBody):
    name: Annotated[SafeStr, Field(min_length=1, max_length=200)]
    line1: Annotated[SafeStr, Field(min_length=1, max_length=200)]
    line2: Annotated[SafeStr | None, Field(max_length=200)] = None
    city: Annotated[SafeStr, Field(min_length=1, max_length=100)]
    postal_code: Annotated[SafeStr, Field(min_length=1, max_length=20)]
    country: Annotated[SafeStr, Field(min_length=2, max_length=100)]


#: A coupon code as typed: letters, digits, dash or underscore (case does not matter).
CouponCode = Annotated[SafeStr, Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class CheckoutIn(RequestBody):
    shipping_address: ShippingAddress
    coupon_code: CouponCode | None = None


class StatusIn(RequestBody):
    status: OrderStatus


class OrderItemOut(Response):
    product_id: int
    name: str
    unit_price: MoneyOut
    quantity: int
    line_total: MoneyOut


class StatusChangeOut(Response):
    status: str
    at: datetime
    actor_id: int | None
    actor_kind: Literal["shopper", "admin", "provider", "system"]


class OrderOut(Response):
    id: int
    user_id: int
    status: str
    items: list[OrderItemOut]
    item_count: int
    subtotal: MoneyOut
    discount: MoneyOut
    coupon_id: int | None
    total: MoneyOut
    shipping_address: dict[str, str | None]
    status_history: list[StatusChangeOut]
    currency: str | None
    refunded_total: MoneyOut
    hold_until: datetime | None
    paid_at: datetime | None
    payment_error: str | None
    created_at: datetime
    updated_at: datetime


class PaymentStartOut(Response):
    provider: Literal["stripe", "test_mode"]
    test_mode: bool
    payment_intent_id: str
    client_secret: str | None
    publishable_key: str | None
    amount: MoneyOut
    currency: str


class CheckoutOut(OrderOut):
    payment: PaymentStartOut | None = None


class DaySalesOut(Response):
    day: date
    orders: int
    revenue: MoneyOut


class ProductSalesOut(Response):
    product_id: int
    name: str
    quantity: int
    revenue: MoneyOut


class SalesTotalsOut(Response):
    orders: int
    revenue: MoneyOut
    average_order_value: MoneyOut
    items_sold: int
    customers: int
    cancelled: int


class SalesStatsOut(Response):
    days: int
    since: datetime
    until: datetime
    totals: SalesTotalsOut
    by_day: list[DaySalesOut]
    by_status: dict[str, int]
    top_products_by_revenue: list[ProductSalesOut]
    top_products_by_quantity: list[ProductSalesOut]
