"""Recommendations for the storefront: the champion's lists, checked against today's catalog.

The champion's arrays are loaded on the first recommendation a container serves (never at
import: predictions alone must cold start as fast as before), verified like every model,
and re-checked every MODEL_CACHE_SECONDS. Each answer then costs one indexed query on the
products' primary key: inactive and out-of-stock products are dropped there, and for
"Picked for you" so is anything the customer has bought since the model was trained.

Without a promoted model (a new shop, or a model no better than best sellers) the answer is
the best sellers, and `source` says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.logging import get_logger
from shop.ml.artifacts import ArtifactError, ArtifactStore
from shop.ml.config import get_ml_settings
from shop.ml.recommendations import RecommendationArrays
from shop.models import Order, OrderItem, Product

NAME = "recommendations"
ARTIFACT = "recommendations.npz"
#: Best sellers are the most bought products of these last days.
BEST_SELLER_DAYS = 90
_BEST_SELLERS = 60
MODEL = "model"
BEST_SELLERS = "best_sellers"
ORDER_HISTORY = "order_history"
_PRODUCT_COLUMNS = (Product.id, Product.name, Product.price, Product.image_url, Product.category)


class _Champion:
    """The promoted recommendation arrays, or why there are none."""

    def __init__(self, store_factory: Any = ArtifactStore.from_settings) -> None:
        self._store_factory = store_factory
        self._lock = threading.Lock()
        self.arrays: RecommendationArrays | None = None
        self.version: str | None = None
        self.missing_reason = "No recommendation model has been trained yet."
        self._checked_at: float | None = None
        self._best: tuple[float, list[int]] | None = None

    def clear(self) -> None:
        with self._lock:
            self.arrays, self.version, self._checked_at, self._best = None, None, None, None

    def get(self) -> tuple[RecommendationArrays | None, str | None]:
        ttl = get_ml_settings().model_cache_seconds
        with self._lock:
            now = time.monotonic()
            if self._checked_at is None or now - self._checked_at > ttl:
                self._refresh()
                self._checked_at = now
            return self.arrays, self.version

    def _refresh(self) -> None:
        try:
            store = self._store_factory()
            pointer = store.champion_version(NAME)
            if pointer is None:
                self.arrays, self.version = None, None
                self.missing_reason = (
                    "No recommendation model has done better than best sellers yet."
                )
                return
            if pointer[0] == self.version:
                return
            stored = store.load_version(NAME, pointer[0], metadata_sha256=pointer[1])
            self.arrays = RecommendationArrays.from_bytes(stored.files[ARTIFACT])
            self.version = stored.version
        except (ArtifactError, KeyError, ValueError) as exc:
            # Keep what we had; without it, best sellers until the store answers again.
            get_logger().warning("recommendation model not loaded", extra={"error": str(exc)})
            if self.arrays is None:
                self.missing_reason = "The recommendation model cannot be loaded right now."

    def best_sellers(self, session: Session) -> list[int]:
        """The most bought products of the last BEST_SELLER_DAYS, then the newest ones."""
        ttl = get_ml_settings().model_cache_seconds
        cached = self._best
        if cached is not None and time.monotonic() - cached[0] <= ttl:
            return cached[1]
        since = utcnow() - timedelta(days=BEST_SELLER_DAYS)
        baskets = func.count(func.distinct(OrderItem.order_id))
        sold = session.execute(
            select(OrderItem.product_id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.created_at >= since, Order.status != "cancelled", OrderItem.quantity > 0)
            .group_by(OrderItem.product_id)
            .order_by(baskets.desc(), OrderItem.product_id)
            .limit(_BEST_SELLERS)
        ).scalars()
        ranked = list(sold)
        if len(ranked) < _BEST_SELLERS:  # a new shop: its newest products on sale
            newest = session.scalars(
                select(Product.id)
                .where(Product.is_active.is_(True), Product.stock > 0)
                .order_by(Product.id.desc())
                .limit(_BEST_SELLERS)
            )
            ranked += [p for p in newest if p not in set(ranked)][: _BEST_SELLERS - len(ranked)]
        self._best = (time.monotonic(), ranked)
        return ranked


champion = _Champion()


def _answer(
    source: str, reason: str | None, version: str | None, products: list[dict[str, Any]]
) -> dict[str, Any]:
    return {"source": source, "reason": reason, "model_version": version, "products": products}


def _on_sale_query(not_bought: bool) -> Any:
    """The one query `on_sale` runs, built once: its parameters are the ids and the user."""
    query = select(*_PRODUCT_COLUMNS).where(
        Product.id.in_(bindparam("ids", expanding=True)),
        Product.is_active.is_(True),
        Product.stock > 0,
    )
    if not_bought:
        bought = (
            select(OrderItem.product_id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.user_id == bindparam("user_id"), Order.status != "cancelled")
        )
        query = query.where(Product.id.not_in(bought))
    return query


_ON_SALE = {False: _on_sale_query(False), True: _on_sale_query(True)}
#: Candidates checked per product wanted: enough to fill the page when some are sold out.
_CANDIDATES_PER_ITEM = 3


def on_sale(
    session: Session,
    candidates: Sequence[int],
    limit: int,
    *,
    not_bought_by: int | None = None,
) -> list[dict[str, Any]]:
    """The first candidates that are active and in stock, in the candidates' order, at most
    `limit`. One query by primary key; with `not_bought_by`, also without that customer's
    purchases."""
    wanted = list(dict.fromkeys(candidates))[: limit * _CANDIDATES_PER_ITEM]
    if not wanted:
        return []
    params: dict[str, Any] = {"ids": wanted}
    if not_bought_by is not None:
        params["user_id"] = not_bought_by
    rows = {row.id: row for row in session.execute(_ON_SALE[not_bought_by is not None], params)}
    found = []
    for product_id in wanted:
        row = rows.get(product_id)
        if row is not None:
            found.append(
                {
                    "id": row.id,
                    "name": row.name,
                    "price": row.price,
                    "image_url": row.image_url,
                    "category": row.category,
                }
            )
            if len(found) == limit:
                break
    return found


def often_bought_together(
    session: Session, product_ids: Sequence[int], limit: int
) -> dict[str, Any]:
    """Products bought with these (one product, or a cart), on sale, best first."""
    arrays, version = champion.get()
    given = set(product_ids)
    if arrays is not None:
        ranked = arrays.together(list(dict.fromkeys(product_ids)))
        products = on_sale(session, ranked, limit)
        if products:
            return _answer(MODEL, None, version, products)
        reason = "Nothing bought with these products is on sale; best sellers instead."
    else:
        reason = champion.missing_reason
    best = [p for p in champion.best_sellers(session) if p not in given]
    return _answer(BEST_SELLERS, reason, version, on_sale(session, best, limit))


def picked_for_you(session: Session, user_id: int, limit: int) -> dict[str, Any]:
    """Products the customer never bought, matched to what they bought and viewed."""
    arrays, version = champion.get()
    ranked = arrays.picked_for(user_id) if arrays is not None else None
    if ranked is not None:
        products = on_sale(session, ranked, limit, not_bought_by=user_id)
        if products:
            return _answer(MODEL, None, version, products)
    if arrays is None:
        reason = champion.missing_reason
    elif ranked is None:
        reason = "We do not know this customer's taste yet; best sellers instead."
    else:
        reason = "Nothing picked for this customer is on sale; best sellers instead."
    best = champion.best_sellers(session)
    return _answer(
        BEST_SELLERS, reason, version, on_sale(session, best, limit, not_bought_by=user_id)
    )


def buy_again(session: Session, user_id: int, limit: int) -> dict[str, Any]:
    """The customer's past purchases they are most likely to buy again, on sale."""
    arrays, version = champion.get()
    ranked = arrays.buy_again(user_id) if arrays is not None else []
    if ranked:
        return _answer(MODEL, None, version, on_sale(session, ranked, limit))
    reason = (
        champion.missing_reason
        if arrays is None
        else "The model does not know this customer's orders yet; their own most bought "
        "products instead."
    )
    mine = session.execute(
        select(OrderItem.product_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.user_id == user_id, Order.status != "cancelled", OrderItem.quantity > 0)
        .group_by(OrderItem.product_id)
        .order_by(func.count().desc(), func.max(Order.created_at).desc())
        .limit(_BEST_SELLERS)
    ).scalars()
    return _answer(ORDER_HISTORY, reason, version, on_sale(session, list(mine), limit))


def status() -> dict[str, Any]:
    """Whether the storefront shows the model's recommendations or best sellers, and why."""
    arrays, version = champion.get()
    if arrays is None:
        return {"source": BEST_SELLERS, "model_version": None, "reason": champion.missing_reason}
    return {"source": MODEL, "model_version": version, "reason": None}
