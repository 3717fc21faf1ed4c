"""Request and response bodies of the coupon routes (admins) of the orders function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from shop.http.schemas import MoneyIn, MoneyOut, RequestBody, Response, SafeStr

from .schemas import CouponCode

Limit = Annotated[int, Field(strict=True, ge=1, le=1_000_000_000)]
UserId = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]
Description = Annotated[SafeStr, Field(max_length=200)]


class CouponIn(RequestBody):
    code: CouponCode
    kind: Literal["percent", "amount"]
    #: Percent off (at most 100) or money off.
    value: MoneyIn
    description: Description = ""
    min_order: MoneyIn | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_redemptions: Limit | None = None
    per_customer_limit: Limit | None = 1
    user_id: UserId | None = None


class CouponPatch(RequestBody):
    value: MoneyIn | None = None
    description: Description | None = None
    min_order: MoneyIn | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_redemptions: Limit | None = None
    per_customer_limit: Limit | None = None
    user_id: UserId | None = None
    is_active: bool | None = None


class CouponOut(Response):
    id: int
    code: str
    kind: str
    value: MoneyOut
    description: str
    min_order: MoneyOut | None
    starts_at: datetime
    ends_at: datetime | None
    max_redemptions: int | None
    per_customer_limit: int | None
    user_id: int | None
    redemption_count: int
    is_active: bool
    created_at: datetime
    updated_at: datetime
