"""Admin routes for coupons under `/orders/coupons` (declared before `/orders/{order_id}`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from shop.errors import InvalidInput
from shop.http.deps import AdminUser, IdPath, PageDep, SessionDep
from shop.http.schemas import Page, SafeStr

from .coupon_schemas import CouponIn, CouponOut, CouponPatch

router = APIRouter(prefix="/coupons", tags=["coupons"])

#: Fields a PATCH may clear with null (no minimum, no end, no limit, shared again).
NULLABLE = ("min_order", "ends_at", "max_redemptions", "per_customer_limit", "user_id")


@router.get("", response_model=Page[CouponOut])
def list_coupons(
    _admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    active: bool | None = None,
    personal: bool | None = None,
    code: Annotated[SafeStr | None, Query(max_length=40, description="code prefix")] = None,
) -> Any:
    """Coupons, newest first; filter by active, personal (one customer's) or code prefix."""
    from shop.services import coupons

    return coupons.list_coupons(session, page, active=active, code=code, personal=personal)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CouponOut)
def create_coupon(
    body: CouponIn, _admin: AdminUser, session: SessionDep, response: Response
) -> Any:
    """Create a shared code, or a personal one with `user_id`; 409 if the code is taken."""
    from shop.services import coupons

    coupon = coupons.create_coupon(session, body.model_dump())
    response.headers["Location"] = f"/orders/coupons/{coupon.id}"
    return coupon


@router.get("/{coupon_id}", response_model=CouponOut)
def get_coupon(coupon_id: IdPath, _admin: AdminUser, session: SessionDep) -> Any:
    """One coupon with how often it was used."""
    from shop.services import coupons

    return coupons.get_coupon(session, coupon_id)


@router.patch("/{coupon_id}", response_model=CouponOut)
def update_coupon(
    coupon_id: IdPath, body: CouponPatch, _admin: AdminUser, session: SessionDep
) -> Any:
    """Change a coupon's value, window, limits, owner or active flag (not its code or kind)."""
    from shop.services import coupons

    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name not in NULLABLE:
            raise InvalidInput(f"{name} cannot be null.", loc=["body", name])
    return coupons.update_coupon(session, coupon_id, changes)


@router.delete("/{coupon_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_coupon(coupon_id: IdPath, _admin: AdminUser, session: SessionDep) -> Response:
    """Deactivate the code; orders that used it keep their discount."""
    from shop.services import coupons

    coupons.deactivate_coupon(session, coupon_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
