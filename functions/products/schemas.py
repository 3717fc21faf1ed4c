"""Request and response bodies of the products function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from shop.http.schemas import MoneyIn, MoneyOut, RequestBody, Response, SafeStr


def _web_url(value: str) -> str:
    if any(char.isspace() or not char.isprintable() for char in value):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL")
    _ = parts.port  # raises ValueError for a port outside 0..65535
    if parts.username or parts.password:
        raise ValueError("must not contain credentials")
    return value


ImageUrl = Annotated[SafeStr, Field(max_length=2048), AfterValidator(_web_url)]
Sku = Annotated[SafeStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Name = Annotated[SafeStr, Field(min_length=1, max_length=200)]
Description = Annotated[SafeStr, Field(max_length=5000)]
Category = Annotated[SafeStr, Field(min_length=1, max_length=100)]
# Strict: `true` or `2.0` are not stock counts (lax ints would read them as 1 and 2).
Stock = Annotated[int, Field(ge=0, le=1_000_000_000, strict=True)]


class ProductIn(RequestBody):
    sku: Sku
    name: Name
    description: Description = ""
    category: Category
    price: MoneyIn
    stock: Stock = 0
    image_url: ImageUrl | None = None


class ProductPatch(RequestBody):
    name: Name | None = None
    description: Description | None = None
    category: Category | None = None
    price: MoneyIn | None = None
    stock: Stock | None = None
    image_url: ImageUrl | None = None
    is_active: bool | None = None


class InventoryIn(RequestBody):
    delta: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000, strict=True)]
    reason: Annotated[SafeStr, Field(min_length=1, max_length=200)]


class ProductOut(Response):
    id: int
    sku: str
    name: str
    description: str
    category: str
    price: MoneyOut
    stock: int
    image_url: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class CategoryOut(Response):
    name: str
    slug: str
    product_count: int
