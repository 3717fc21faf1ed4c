"""Routes of the cart function: the signed-in user's cart and its lines."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Response, status

from shop.http.deps import CurrentUser, IdPath, SessionDep
from shop.http.schemas import SafeStr

from .schemas import AddItemIn, CartOut, SetQuantityIn

if TYPE_CHECKING:
    from shop.services import coupons
    from shop.services.cart import CartView

#: The cart and coupon services (and the models they map) are imported by the routes that use
#: them, so a cold start answering a health check never loads them.
router = APIRouter(tags=["cart"])


def _out(view: CartView, quote: coupons.Quote | None = None) -> CartOut:
    return CartOut.model_validate(
        {
            "items": view.items,
            "subtotal": view.subtotal,
            "discount": quote.discount if quote else Decimal("0.00"),
            "total": quote.total if quote else view.subtotal,
            "coupon_code": quote.coupon.code if quote else None,
            "coupon_description": quote.coupon.description if quote else None,
            "item_count": view.item_count,
            "can_checkout": bool(view.items) and not view.checkout_blockers,
        }
    )


@router.get("", response_model=CartOut)
def get_cart(
    principal: CurrentUser,
    session: SessionDep,
    coupon: Annotated[
        SafeStr | None,
        Query(max_length=40, description="a coupon code: the cart shows what it would save"),
    ] = None,
) -> Any:
    """The caller's cart at today's prices, each line marked available or not.

    With `coupon`, also the saving the code would give now (422 saying why it cannot).
    """
    from shop.services import cart, coupons

    view = cart.view_cart(session, principal.user_id)
    if not coupon:
        return _out(view)
    quote = coupons.quote(
        session, principal.user_id, coupon, view.subtotal, loc=["query", "coupon"]
    )
    return _out(view, quote)


@router.post("/items", status_code=status.HTTP_201_CREATED, response_model=CartOut)
def add_item(
    body: AddItemIn, principal: CurrentUser, session: SessionDep, response: Response
) -> Any:
    """Add units of a product (to its line if already there); 409 beyond the stock left.

    `source` says which recommendation list the shopper added it from, if any.
    """
    from shop.services import cart

    response.headers["Location"] = "/cart"
    return _out(
        cart.add_item(session, principal.user_id, body.product_id, body.quantity, body.source)
    )


@router.patch("/items/{product_id}", response_model=CartOut)
def set_quantity(
    product_id: IdPath, body: SetQuantityIn, principal: CurrentUser, session: SessionDep
) -> Any:
    """Set a line's quantity; 0 removes the line."""
    from shop.services import cart

    return _out(cart.set_quantity(session, principal.user_id, product_id, body.quantity))


@router.delete("/items/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_item(product_id: IdPath, principal: CurrentUser, session: SessionDep) -> Response:
    """Remove a product's line; 404 if it is not in the caller's cart."""
    from shop.services import cart

    cart.remove_item(session, principal.user_id, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT)
def clear_cart(principal: CurrentUser, session: SessionDep) -> Response:
    """Empty the caller's cart."""
    from shop.services import cart

    cart.clear_cart(session, principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
