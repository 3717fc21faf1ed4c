"""The catalog: products, categories, search and the inventory ledger."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.catalog_sort import SortKey
from shop.errors import Conflict, NotFound
from shop.models import InventoryMovement, Product
from shop.pagination import PageRequest, PageResult, paginate
from shop.services.text_search import contains_pattern

SORTS: dict[str, Any] = {
    "name": (Product.name.asc(), Product.id.asc()),
    "-name": (Product.name.desc(), Product.id.desc()),
    "price": (Product.price.asc(), Product.id.asc()),
    "-price": (Product.price.desc(), Product.id.desc()),
    "newest": (Product.created_at.desc(), Product.id.desc()),
}


def slugify(text: str) -> str:
    """A URL-safe, lower-case slug: "Home & Kitchen" -> "home-kitchen"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "uncategorized"


@dataclass(frozen=True)
class ProductFilter:
    q: str | None = None
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    sort: SortKey = "name"
    include_inactive: bool = False


def list_products(
    session: Session, filters: ProductFilter, page: PageRequest
) -> PageResult[Product]:
    """A page of products matching the filters; active ones only unless asked otherwise."""
    return paginate(session, product_query(filters), page)


def product_query(filters: ProductFilter) -> Select[Product]:
    """The sorted query behind `list_products`, for callers that page it their own way."""
    query = select(Product).order_by(*SORTS[filters.sort])
    if not filters.include_inactive:
        query = query.where(Product.is_active.is_(True))
    if filters.q:
        pattern = contains_pattern(filters.q)
        query = query.where(
            or_(
                Product.name.ilike(pattern, escape="\\"),
                Product.description.ilike(pattern, escape="\\"),
                Product.category.ilike(pattern, escape="\\"),
            )
        )
    if filters.category:
        query = query.where(Product.category_slug == slugify(filters.category))
    if filters.min_price is not None:
        query = query.where(Product.price >= filters.min_price)
    if filters.max_price is not None:
        query = query.where(Product.price <= filters.max_price)
    if filters.in_stock is True:
        query = query.where(Product.stock > 0)
    elif filters.in_stock is False:
        query = query.where(Product.stock == 0)
    return query


def low_stock(session: Session, threshold: int, page: PageRequest) -> PageResult[Product]:
    """Active products with at most `threshold` in stock, lowest stock first (restock list)."""
    query = (
        select(Product)
        .where(Product.is_active.is_(True), Product.stock <= threshold)
        .order_by(Product.stock.asc(), Product.name.asc(), Product.id.asc())
    )
    return paginate(session, query, page)


@dataclass(frozen=True)
class CategorySummary:
    name: str
    slug: str
    product_count: int


def list_categories(session: Session) -> list[CategorySummary]:
    """Categories of active products with how many each has, by name."""
    rows = session.execute(
        select(Product.category_slug, func.min(Product.category), func.count())
        .where(Product.is_active.is_(True))
        .group_by(Product.category_slug)
        .order_by(func.min(Product.category))
    )
    return [CategorySummary(name=name, slug=slug, product_count=n) for slug, name, n in rows]


def get_product(session: Session, product_id: int, *, include_inactive: bool = False) -> Product:
    """The product, or NotFound (also for a deactivated one unless `include_inactive`)."""
    product = session.get(Product, product_id)
    if product is None or (not product.is_active and not include_inactive):
        raise NotFound("No such product.")
    return product


def create_product(session: Session, fields: dict[str, Any], *, actor_id: int | None) -> Product:
    """A new product; Conflict on a duplicate SKU. Opening stock goes into the ledger."""
    product = Product(**fields, category_slug=slugify(fields["category"]))
    session.add(product)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"A product with SKU {fields['sku']!r} already exists.") from exc
    if product.stock:
        session.add(
            InventoryMovement(
                product_id=product.id,
                delta=product.stock,
                stock_after=product.stock,
                reason="opening stock",
                actor_id=actor_id,
            )
        )
    session.commit()
    return product


def update_product(
    session: Session, product_id: int, changes: dict[str, Any], *, actor_id: int | None
) -> Product:
    """The product after an admin's changes; a new `stock` value is logged as a movement."""
    product = get_product(session, product_id, include_inactive=True)
    new_stock = changes.pop("stock", None)
    for name, value in changes.items():
        setattr(product, name, value)
    if "category" in changes:
        product.category_slug = slugify(changes["category"])
    session.flush()
    if new_stock is not None:
        locked = session.scalar(
            select(Product.stock).where(Product.id == product_id).with_for_update()
        )
        delta = new_stock - (locked or 0)
        if delta:
            _move_stock(session, product_id, delta, "stock set by admin", actor_id)
    session.commit()
    session.refresh(product)
    return product


def deactivate_product(session: Session, product_id: int) -> None:
    """Hide the product from the catalog; past orders keep referring to it."""
    product = get_product(session, product_id, include_inactive=True)
    product.is_active = False
    session.commit()


def _move_stock(
    session: Session, product_id: int, delta: int, reason: str, actor_id: int | None
) -> int:
    """Apply `delta` atomically (never below zero) and log it; the new stock level."""
    result = session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock + delta >= 0)
        .values(stock=Product.stock + delta)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        stock = session.scalar(select(Product.stock).where(Product.id == product_id))
        session.rollback()
        if stock is None:
            raise NotFound("No such product.")
        raise Conflict(
            f"Not enough stock: {stock} left, cannot remove {-delta}.",
            extra={"stock": stock},
        )
    stock_after = session.scalar(select(Product.stock).where(Product.id == product_id))
    assert stock_after is not None
    session.add(
        InventoryMovement(
            product_id=product_id,
            delta=delta,
            stock_after=stock_after,
            reason=reason,
            actor_id=actor_id,
        )
    )
    return stock_after


def adjust_stock(
    session: Session, product_id: int, delta: int, reason: str, *, actor_id: int | None
) -> Product:
    """The product after adding `delta` to its stock; Conflict if it would go below zero."""
    get_product(session, product_id, include_inactive=True)
    _move_stock(session, product_id, delta, reason, actor_id)
    session.commit()
    product = get_product(session, product_id, include_inactive=True)
    session.refresh(product)
    return product
