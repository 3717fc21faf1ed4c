"""Factories for the shopping-flow tests: products, carts and checkouts through the API."""

from __future__ import annotations

import uuid
from typing import Any

from support import Account, LambdaClient, Reply

ADDRESS: dict[str, Any] = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def new_product(
    client: LambdaClient,
    admin: Account,
    *,
    stock: int = 10,
    price: str = "9.99",
    name: str | None = None,
) -> int:
    """A product created by `admin` through the API; its id."""
    sku = f"SKU-{uuid.uuid4().hex[:10]}"
    reply = client.post(
        "/products",
        json={
            "sku": sku,
            "name": name or f"Product {sku}",
            "category": "Kitchen",
            "price": price,
            "stock": stock,
        },
        token=admin.access_token,
    )
    assert reply.status == 201, reply.body
    return int(reply.json()["id"])


def add_to_cart(client: LambdaClient, user: Account, product_id: int, quantity: int = 1) -> Reply:
    return client.post(
        "/cart/items",
        json={"product_id": product_id, "quantity": quantity},
        token=user.access_token,
    )


def checkout(
    client: LambdaClient,
    user: Account,
    *,
    key: str | None = None,
    address: dict[str, Any] | None = None,
    coupon: str | None = None,
) -> Reply:
    """POST /orders with a fresh Idempotency-Key unless one is given (and a coupon code if so)."""
    body: dict[str, Any] = {"shipping_address": ADDRESS if address is None else address}
    if coupon is not None:
        body["coupon_code"] = coupon
    return client.post(
        "/orders",
        json=body,
        token=user.access_token,
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def stock_of(product_id: int) -> int:
    """The product's stock as the database holds it."""
    from shop.db import session_scope
    from shop.models import Product

    with session_scope() as session:
        product = session.get(Product, product_id)
        assert product is not None
        return product.stock


def count_rows(model: Any, **where: Any) -> int:
    """How many rows of `model` match the column values in `where`."""
    from sqlalchemy import func, select

    from shop.db import session_scope

    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with session_scope() as session:
        return int(session.scalar(query) or 0)


def events_of(user_id: int, *types: str) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(type, product_id, payload) of the user's behavior events of `types`, oldest first."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import BehaviorEvent

    query = select(BehaviorEvent.event_type, BehaviorEvent.product_id, BehaviorEvent.payload)
    query = query.where(BehaviorEvent.user_id == user_id).order_by(BehaviorEvent.id)
    if types:
        query = query.where(BehaviorEvent.event_type.in_(types))
    with session_scope() as session:
        return [(t, p, dict(payload)) for t, p, payload in session.execute(query)]


def bulk_products(count: int, *, stock: int = 10, price: str = "1.00") -> list[int]:
    """`count` active products inserted straight into the database (faster than the API)."""
    from decimal import Decimal

    from shop.db import session_scope
    from shop.models import Product

    tag = uuid.uuid4().hex[:8]
    with session_scope() as session:
        products = [
            Product(
                sku=f"BULK-{tag}-{n}",
                name=f"Bulk item {n}",
                category="Bulk",
                category_slug="bulk",
                price=Decimal(price),
                stock=stock,
            )
            for n in range(count)
        ]
        session.add_all(products)
        session.flush()
        return [p.id for p in products]


def new_coupon(client: LambdaClient, admin: Account, **fields: Any) -> dict[str, Any]:
    """A coupon created by `admin` through the API (10% off a shared code unless told)."""
    body = {"code": f"C{uuid.uuid4().hex[:8]}", "kind": "percent", "value": "10", **fields}
    reply = client.post("/orders/coupons", json=body, token=admin.access_token)
    assert reply.status == 201, reply.body
    return dict(reply.json())
