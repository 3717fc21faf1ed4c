"""Routes of the products function: the public catalog and its admin management."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from shop.behavior import RecommendationSource, record_event_now
from shop.catalog_sort import SortKey
from shop.errors import InvalidInput
from shop.http.deps import AdminUser, IdPath, OptionalUser, PageDep, SessionDep
from shop.http.schemas import Page, SafeStr

from .schemas import CategoryOut, InventoryIn, ProductIn, ProductOut, ProductPatch

router = APIRouter(tags=["products"])

# The catalog service (with SQLAlchemy's ORM and the catalog models) is imported by the routes
# that call it, so a health check's cold start loads none of it.

PriceQuery = Annotated[Decimal | None, Query(ge=0, max_digits=12, decimal_places=2)]


@router.get("", response_model=Page[ProductOut])
def list_products(
    session: SessionDep,
    page: PageDep,
    principal: OptionalUser,
    q: Annotated[SafeStr | None, Query(max_length=200)] = None,
    category: Annotated[SafeStr | None, Query(max_length=100)] = None,
    min_price: PriceQuery = None,
    max_price: PriceQuery = None,
    in_stock: bool | None = None,
    sort: SortKey = "name",
) -> Any:
    """Active products, searchable (name, description, category), filterable and sortable."""
    from shop.services import catalog

    if min_price is not None and max_price is not None and min_price > max_price:
        raise InvalidInput("min_price must not exceed max_price.", loc=["query", "min_price"])
    filters = catalog.ProductFilter(
        q=q or None,
        category=category or None,
        min_price=min_price,
        max_price=max_price,
        in_stock=in_stock,
        sort=sort,
    )
    result = catalog.list_products(session, filters, page)
    if principal is not None and filters.q:
        record_event_now(
            session,
            "search",
            user_id=principal.user_id,
            payload={"q": filters.q[:200], "results": result.total},
        )
    return result


@router.get("/categories", response_model=list[CategoryOut])
def list_categories(session: SessionDep) -> Any:
    """Categories with their number of active products."""
    from shop.services import catalog

    return catalog.list_categories(session)


# Declared before /{product_id}, which would otherwise try to read "low-stock" as an id.
@router.get("/low-stock", response_model=Page[ProductOut])
def list_low_stock(
    _admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    threshold: Annotated[int, Query(ge=0, le=1_000_000_000)] = 10,
) -> Any:
    """Active products with stock at or below `threshold`, lowest first (admins only)."""
    from shop.services import catalog

    return catalog.low_stock(session, threshold, page)


@router.get("/{product_id}", response_model=ProductOut)
# async: a hot path, so it runs inline instead of on a worker thread (see shop.http.deps)
async def get_product(
    product_id: IdPath,
    session: SessionDep,
    principal: OptionalUser,
    source: RecommendationSource | None = None,
) -> Any:
    """One product; deactivated ones are visible to admins only.

    `source` says which recommendation list the shopper came from, if any.
    """
    from shop.services import catalog

    is_admin = principal is not None and principal.is_admin
    product = catalog.get_product(session, product_id, include_inactive=is_admin)
    if principal is not None:
        record_event_now(
            session,
            "product_view",
            user_id=principal.user_id,
            product_id=product.id,
            source=source,
        )
    return product


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
def create_product(
    body: ProductIn, admin: AdminUser, session: SessionDep, response: Response
) -> Any:
    """Add a product to the catalog (admins only)."""
    from shop.services import catalog

    product = catalog.create_product(session, body.model_dump(), actor_id=admin.user_id)
    response.headers["Location"] = f"/products/{product.id}"
    return product


@router.patch("/{product_id}", response_model=ProductOut)
def update_product(
    product_id: IdPath, body: ProductPatch, admin: AdminUser, session: SessionDep
) -> Any:
    """Change any field but the SKU (admins only)."""
    from shop.services import catalog

    changes = body.model_dump(exclude_unset=True)
    for required in ("name", "category", "price", "stock", "is_active", "description"):
        if required in changes and changes[required] is None:
            raise InvalidInput(f"{required} cannot be null.", loc=["body", required])
    return catalog.update_product(session, product_id, changes, actor_id=admin.user_id)


@router.delete("/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(product_id: IdPath, _admin: AdminUser, session: SessionDep) -> Response:
    """Deactivate the product; it stays in past orders."""
    from shop.services import catalog

    catalog.deactivate_product(session, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{product_id}/inventory", response_model=ProductOut)
def adjust_inventory(
    product_id: IdPath, body: InventoryIn, admin: AdminUser, session: SessionDep
) -> Any:
    """Add or remove stock with a reason; 409 if stock would go below zero (admins only)."""
    from shop.services import catalog

    if body.delta == 0:
        raise InvalidInput("delta must not be zero.", loc=["body", "delta"])
    return catalog.adjust_stock(
        session, product_id, body.delta, body.reason, actor_id=admin.user_id
    )
