"""`shopfn import products`: a catalog file into the catalog, updating products by SKU.

A product whose SKU is in the catalog is updated to what the file says (only the values the
file gives); any other is created. Importing the same file again changes nothing. A stock
the file gives replaces the product's, through the inventory ledger like an admin's change.
Bad lines follow the transactions import's `--on-error`: abort writes nothing, skip imports
the good lines and reports the others. One transaction, committed at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import InventoryMovement, Product
from shop.services.catalog import slugify
from shopfn.catalog_file import (
    DEFAULT_CATEGORY,
    CatalogColumns,
    CatalogFile,
    CatalogProduct,
    Layout,
)
from shopfn.importer import ImportFailed, OnError, good_batches, rejects, undone_on_failure

BATCH = 1000
_REASON = "catalog import"


@dataclass
class CatalogResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def import_products(
    session: Session,
    path: Path,
    layout: Layout,
    columns: CatalogColumns | None = None,
    *,
    delimiter: str = "auto",
    on_error: OnError = "abort",
    report: Path | None = None,
) -> CatalogResult:
    """Import the catalog at `path` and commit; ImportFailed (nothing written) otherwise."""
    result = CatalogResult()
    with undone_on_failure(session, report):
        with (
            CatalogFile(path, layout, columns or CatalogColumns(), delimiter) as catalog,
            rejects(catalog, report) as reject,
        ):
            for batch in good_batches(catalog, catalog.products(), BATCH, result, reject, on_error):
                _write(session, batch, result)
        if result.errors and on_error == "abort":
            raise ImportFailed(result.errors, result.rejected)
        if result.created + result.updated + result.unchanged + result.rejected == 0:
            raise ImportFailed(["the file has no products"])
    session.commit()
    return result


def _write(session: Session, batch: list[CatalogProduct], result: CatalogResult) -> None:
    """Create or update the batch's products (found by SKU, letter case included)."""
    found = session.scalars(select(Product).where(Product.sku.in_([p.sku for p in batch])))
    existing = {product.sku: product for product in found}
    for item in batch:
        product = existing.get(item.sku)
        if product is None:
            existing[item.sku] = _create(session, item)
            result.created += 1
        elif _update(session, product, item):
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()


def _create(session: Session, item: CatalogProduct) -> Product:
    category = item.category or DEFAULT_CATEGORY
    product = Product(
        sku=item.sku,
        name=item.name,
        description=item.description or "",
        category=category,
        category_slug=slugify(category),
        price=item.price,
        stock=item.stock or 0,
        is_active=True if item.active is None else item.active,
    )
    session.add(product)
    if product.stock:
        session.flush()
        _ledger(session, product, product.stock, "opening stock")
    return product


def _update(session: Session, product: Product, item: CatalogProduct) -> bool:
    """Bring `product` to what the file says; whether anything changed."""
    changes = {"name": item.name, "price": item.price}
    if item.description is not None:
        changes["description"] = item.description
    if item.category is not None:
        changes.update(category=item.category, category_slug=slugify(item.category))
    if item.active is not None:
        changes["is_active"] = item.active
    changed = {name: v for name, v in changes.items() if getattr(product, name) != v}
    for name, value in changed.items():
        setattr(product, name, value)
    delta = 0 if item.stock is None else item.stock - product.stock
    if delta:
        product.stock = item.stock  # type: ignore[assignment]
        _ledger(session, product, delta, f"stock set by {_REASON}")
    return bool(changed or delta)


def _ledger(session: Session, product: Product, delta: int, reason: str) -> None:
    session.add(
        InventoryMovement(
            product_id=product.id, delta=delta, stock_after=product.stock, reason=reason
        )
    )
