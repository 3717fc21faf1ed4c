"""Routes of the orders function: checkout, order history and status moves."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status

from shop.errors import PermissionDenied
from shop.http.deps import AdminUser, CurrentUser, IdPath, PageDep, SessionDep
from shop.http.schemas import Page
from shop.tokens import Principal

from .schemas import (
    CheckoutIn,
    CheckoutOut,
    OrderOut,
    OrderStatus,
    PaymentStartOut,
    StatusIn,
)

if TYPE_CHECKING:
    from shop.services.orders import Viewer

#: The orders service (and the payment, coupon and cart services it needs) is imported by the
#: routes that use it, so a cold start answering a health check never loads it.
router = APIRouter(tags=["orders"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="1..255 characters, unique per checkout attempt; retries reuse it.",
    ),
]


def _viewer(principal: Principal) -> Viewer:
    from shop.services.orders import Viewer

    return Viewer(user_id=principal.user_id, is_admin=principal.is_admin)


def _checked_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise HTTPException(400, "The Idempotency-Key header is required for POST /orders.")
    if len(key) > 255 or not key.isprintable():
        raise HTTPException(400, "The Idempotency-Key header must be 1..255 printable characters.")
    return key


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CheckoutOut)
def place_order(
    body: CheckoutIn,
    principal: CurrentUser,
    session: SessionDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Check out the caller's cart: 201 new order awaiting payment (with what the page needs
    to take the payment), or 200 with the order a retry already made."""
    from shop.services import orders

    placed = orders.place_order(
        session,
        principal.user_id,
        body.shipping_address.model_dump(),
        idempotency_key=_checked_key(idempotency_key),
        coupon_code=body.coupon_code,
    )
    if placed.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/orders/{placed.order.id}"
    out = CheckoutOut.model_validate(placed.order)
    if placed.payment is not None:
        out.payment = PaymentStartOut.model_validate(placed.payment)
    return out


@router.get("", response_model=Page[OrderOut])
def list_orders(
    principal: CurrentUser,
    session: SessionDep,
    page: PageDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    all_users: Annotated[
        bool, Query(alias="all", description="admins: every user's orders")
    ] = False,
) -> Any:
    """The caller's orders, newest first; admins may ask for everyone's with `all=true`."""
    from shop.services import orders

    if all_users and not principal.is_admin:
        raise PermissionDenied("Only admins can list every user's orders.")
    return orders.list_orders(
        session, _viewer(principal), page, status=status_filter, all_users=all_users
    )


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: IdPath, principal: CurrentUser, session: SessionDep) -> Any:
    """One order with its lines and status history (owner or admin; 404 for anyone else)."""
    from shop.services import orders

    return orders.get_order(session, order_id, _viewer(principal))


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel_order(order_id: IdPath, principal: CurrentUser, session: SessionDep) -> Any:
    """Cancel an unpaid order, or refund a paid one that has not shipped; stock goes back once."""
    from shop.services import orders

    return orders.cancel_order(session, order_id, _viewer(principal))


@router.patch("/{order_id}/status", response_model=OrderOut)
def change_status(order_id: IdPath, body: StatusIn, admin: AdminUser, session: SessionDep) -> Any:
    """Ship, deliver or cancel an order (admins); payment states can't be set by hand."""
    from shop.services import orders

    return orders.change_status(session, order_id, body.status, _viewer(admin))
