"""Request and response bodies of the cart function."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shop.behavior import RecommendationSource
from shop.cart_limits import MAX_LINE_QUANTITY
from shop.http.schemas import MoneyOut, RequestBody, Response

#: Strict: 1.5, "2", true and null are refused (422), not coerced.
ProductId = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]


class AddItemIn(RequestBody):
    product_id: ProductId
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_LINE_QUANTITY)] = 1
    #: The recommendation list the shopper added it from, if any.
    source: RecommendationSource | None = None


class SetQuantityIn(RequestBody):
    quantity: Annotated[int, Field(strict=True, ge=0, le=MAX_LINE_QUANTITY)]


class CartLineOut(Response):
    product_id: int
    name: str
    unit_price: MoneyOut
    quantity: int
    line_total: MoneyOut
    available: bool
    is_active: bool
    stock: int


class CartOut(Response):
    items: list[CartLineOut]
    subtotal: MoneyOut
    #: What the coupon asked for (`?coupon=`) takes off, and what is left to pay.
    discount: MoneyOut
    total: MoneyOut
    coupon_code: str | None
    coupon_description: str | None
    item_count: int
    #: False when a line is unavailable (deactivated, or short of stock): checkout would fail.
    can_checkout: bool
