"""Factories for the recommendation tests: customers, baskets in the past, a served model."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from shop.coltypes import utcnow


def customers(count: int) -> list[int]:
    """`count` customers inserted straight into the database (they cannot sign in)."""
    from shop.db import session_scope
    from shop.models import User

    tag = uuid.uuid4().hex[:8]
    with session_scope() as session:
        users = [
            User(email=f"rec-{tag}-{n}@example.com", full_name=f"Shopper {n}", password_hash="x")
            for n in range(count)
        ]
        session.add_all(users)
        session.flush()
        return [u.id for u in users]


def baskets(
    user_id: int, *placed: tuple[datetime, Sequence[int]], status: str = "delivered"
) -> None:
    """Orders of `user_id`: one per (time, product ids), every line one unit at 2.50."""
    from shop.db import session_scope
    from shop.models import Order, OrderItem

    price = Decimal("2.50")
    with session_scope() as session:
        for at, products in placed:
            total = price * len(products)
            order = Order(
                user_id=user_id,
                status=status,
                subtotal=total,
                total=total,
                item_count=len(products),
                shipping_address={"test": True},
                created_at=at,
                updated_at=at,
            )
            order.items = [
                OrderItem(
                    product_id=p, name=f"P{p}", unit_price=price, quantity=1, line_total=price
                )
                for p in products
            ]
            session.add(order)


def publish_model(now: datetime | None = None) -> str:
    """Fit the recommendation model on the shop's history and make it the served champion.

    The promotion rule (beat best sellers) is tested on its own; serving tests need a model
    whatever a handful of orders would score. Returns the version.
    """
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.recommend_data import load_history
    from shop.ml.recommend_fit import fit_recommendations
    from shop.ml.recommend_serving import ARTIFACT, NAME, champion

    now = now or utcnow()
    with session_scope() as session:
        model = fit_recommendations(load_history(session, now))
    store = ArtifactStore.from_settings()
    version = f"test-{uuid.uuid4().hex[:8]}"
    store.save_version(NAME, version, {ARTIFACT: model.to_bytes()}, {"kind": "cooccurrence"})
    store.set_champion(NAME, version)
    champion.clear()
    return version
