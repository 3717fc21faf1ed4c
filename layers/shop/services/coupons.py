"""Coupons: what a code takes off an order, why a code is refused, and the admin's CRUD.

A code is redeemed inside checkout's transaction (`redeem_for_order`) while its row is
locked, so the checks and the count of uses happen as one step: two checkouts racing for
the last use of a code take turns, and the second is refused. Lock order in checkout: the
cart row, the products by id, then the coupon row; nothing locks them the other way round.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import Conflict, InvalidInput, NotFound
from shop.models import Coupon, CouponRedemption, Order, User
from shop.pagination import PageRequest, PageResult, paginate

CENT = Decimal("0.01")
#: Letters, digits, dash and underscore; stored upper-cased.
CODE_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}")
#: Characters of generated personal codes: no 0/O or 1/I, so they can be read aloud.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class CouponRefused(InvalidInput):
    """A code that cannot be used for this order; `reason` says why in one word."""

    def __init__(self, detail: str, reason: str, *, loc: list[str | int] | None = None) -> None:
        super().__init__(detail, loc=loc, extra={"reason": reason})
        self.reason = reason


@dataclass(frozen=True)
class Quote:
    """What a code does to an amount: the saving and what is left to pay."""

    coupon: Coupon
    subtotal: Decimal
    discount: Decimal
    total: Decimal


def normalize_code(code: str) -> str:
    return code.strip().upper()


def discount_for(coupon: Coupon, subtotal: Decimal) -> Decimal:
    """The money the coupon takes off `subtotal`: rounded to the cent, never more than it."""
    if coupon.kind == "percent":
        off = (subtotal * coupon.value / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        off = coupon.value
    return max(Decimal("0.00"), min(off, subtotal)).quantize(CENT)


def _when(moment: datetime) -> str:
    return moment.strftime("%d %b %Y %H:%M UTC")


def _check(
    session: Session,
    coupon: Coupon | None,
    code: str,
    user_id: int,
    subtotal: Decimal,
    loc: list[str | int],
) -> Coupon:
    """The coupon if `user_id` may use it on `subtotal` now; CouponRefused saying why."""
    now = utcnow()
    if coupon is None or not coupon.is_active:
        raise CouponRefused(f"There is no coupon with the code {code}.", "unknown", loc=loc)
    if coupon.user_id is not None and coupon.user_id != user_id:
        raise CouponRefused(
            f"The code {code} belongs to another customer's account.", "not_yours", loc=loc
        )
    if now < coupon.starts_at:
        raise CouponRefused(
            f"The code {code} can be used from {_when(coupon.starts_at)}.", "not_started", loc=loc
        )
    if coupon.ends_at is not None and now >= coupon.ends_at:
        raise CouponRefused(
            f"The code {code} expired on {_when(coupon.ends_at)}.", "expired", loc=loc
        )
    if coupon.min_order is not None and subtotal < coupon.min_order:
        raise CouponRefused(
            f"The code {code} needs an order of at least {coupon.min_order:.2f}; "
            f"your cart comes to {subtotal:.2f}.",
            "minimum_not_reached",
            loc=loc,
        )
    if coupon.per_customer_limit is not None:
        used = session.scalar(
            select(func.count())
            .select_from(CouponRedemption)
            .where(CouponRedemption.coupon_id == coupon.id, CouponRedemption.user_id == user_id)
        )
        if (used or 0) >= coupon.per_customer_limit:
            times = (
                "once" if coupon.per_customer_limit == 1 else (f"{coupon.per_customer_limit} times")
            )
            raise CouponRefused(
                f"You have already used the code {code} (it can be used {times} per customer).",
                "already_used",
                loc=loc,
            )
    if coupon.max_redemptions is not None and coupon.redemption_count >= coupon.max_redemptions:
        raise CouponRefused(
            f"The code {code} has been used as many times as it may be.", "limit_reached", loc=loc
        )
    return coupon


def quote(
    session: Session,
    user_id: int,
    code: str,
    subtotal: Decimal,
    *,
    loc: list[str | int] | None = None,
) -> Quote:
    """What `code` would take off `subtotal` for the user now (reads only, locks nothing)."""
    code = normalize_code(code)
    coupon = session.scalar(select(Coupon).where(Coupon.code == code))
    _check(session, coupon, code, user_id, subtotal, loc or [])
    assert coupon is not None
    discount = discount_for(coupon, subtotal)
    return Quote(coupon, subtotal, discount, subtotal - discount)


def redeem_for_order(session: Session, order: Order, code: str) -> CouponRedemption:
    """Apply `code` to the new, unflushed `order`: its discount and total, and the use counted.

    Holds the coupon's row lock until the checkout commits, so limits cannot be overspent.
    """
    code = normalize_code(code)
    loc: list[str | int] = ["body", "coupon_code"]
    coupon = session.scalar(
        select(Coupon)
        .where(Coupon.code == code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    _check(session, coupon, code, order.user_id, order.subtotal, loc)
    assert coupon is not None
    order.discount = discount_for(coupon, order.subtotal)
    order.total = order.subtotal - order.discount
    order.coupon_id = coupon.id
    session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id)
        .values(redemption_count=Coupon.redemption_count + 1)
        .execution_options(synchronize_session=False)
    )
    redemption = CouponRedemption(
        coupon_id=coupon.id, user_id=order.user_id, order=order, discount=order.discount
    )
    session.add(redemption)
    return redemption


# --- admin ---------------------------------------------------------------------------------


def _validate(fields: dict[str, Any]) -> None:
    """InvalidInput for combinations the schema cannot judge field by field."""
    if fields.get("kind") == "percent" and fields["value"] > 100:
        raise InvalidInput("A percent-off coupon takes at most 100% off.", loc=["body", "value"])
    ends_at, starts_at = fields.get("ends_at"), fields.get("starts_at")
    if ends_at is not None and starts_at is not None and ends_at <= starts_at:
        raise InvalidInput("The end must come after the start.", loc=["body", "ends_at"])
    limit = fields.get("max_redemptions")
    if limit is not None and limit < fields.get("redemption_count", 0):
        raise InvalidInput(
            f"The code has already been used {fields['redemption_count']} times; "
            "the limit cannot be lower.",
            loc=["body", "max_redemptions"],
        )


def _require_customer(session: Session, user_id: int | None) -> None:
    if user_id is not None and session.get(User, user_id) is None:
        raise InvalidInput(f"There is no account {user_id}.", loc=["body", "user_id"])


def create_coupon(session: Session, fields: dict[str, Any]) -> Coupon:
    """A new coupon; Conflict when the code is taken (codes are case-insensitive)."""
    fields = dict(fields)
    fields["code"] = normalize_code(fields["code"])
    fields.setdefault("starts_at", None)
    if fields["starts_at"] is None:
        fields["starts_at"] = utcnow()
    _validate(fields)
    _require_customer(session, fields.get("user_id"))
    coupon = Coupon(**fields)
    session.add(coupon)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"A coupon with the code {fields['code']} already exists.") from exc
    session.commit()
    return coupon


def personal_code(prefix: str) -> str:
    """A fresh random code for one customer, e.g. `COMEBACK-7KQ2MX9A` (40 random bits)."""
    tail = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{prefix[:30]}-{tail}"


def describe_offer(kind: str, value: Decimal) -> str:
    """The offer in a few words: `10% off` or `5.00 off`."""
    if kind == "percent":
        return f"{value.normalize():f}% off"
    return f"{value:.2f} off"


def issue_personal_coupon(
    session: Session,
    *,
    user_id: int,
    kind: str,
    value: Decimal,
    min_order: Decimal | None,
    valid_from: datetime,
    valid_until: datetime,
    prefix: str,
) -> Coupon:
    """A new single-use code for one customer, added to the session (the caller commits)."""
    offer = describe_offer(kind, value)
    coupon = Coupon(
        code=personal_code(prefix),
        kind=kind,
        value=value,
        description=f"{offer} your next order, until {valid_until:%d %b %Y}",
        min_order=min_order,
        starts_at=valid_from,
        ends_at=valid_until,
        max_redemptions=1,
        per_customer_limit=1,
        user_id=user_id,
    )
    session.add(coupon)
    return coupon


def usable_personal_coupons(session: Session, user_id: int) -> list[Coupon]:
    """The customer's own codes they can still use now, the soonest to end first."""
    now = utcnow()
    used = (
        select(func.count())
        .select_from(CouponRedemption)
        .where(CouponRedemption.coupon_id == Coupon.id, CouponRedemption.user_id == user_id)
        .scalar_subquery()
    )
    query = (
        select(Coupon)
        .where(
            Coupon.user_id == user_id,
            Coupon.is_active.is_(True),
            Coupon.starts_at <= now,
            (Coupon.ends_at.is_(None)) | (Coupon.ends_at > now),
            (Coupon.max_redemptions.is_(None)) | (Coupon.redemption_count < Coupon.max_redemptions),
            (Coupon.per_customer_limit.is_(None)) | (used < Coupon.per_customer_limit),
        )
        .order_by(Coupon.ends_at.is_(None), Coupon.ends_at, Coupon.id)
    )
    return list(session.scalars(query))


def get_coupon(session: Session, coupon_id: int) -> Coupon:
    coupon = session.get(Coupon, coupon_id, populate_existing=True)
    if coupon is None:
        raise NotFound("No such coupon.")
    return coupon


def list_coupons(
    session: Session,
    page: PageRequest,
    *,
    active: bool | None = None,
    code: str | None = None,
    personal: bool | None = None,
) -> PageResult[Coupon]:
    """A page of coupons, newest first, filtered by active flag, code prefix, or kind of code."""
    query = select(Coupon).order_by(Coupon.id.desc())
    if active is not None:
        query = query.where(Coupon.is_active.is_(active))
    if code:
        query = query.where(Coupon.code.startswith(normalize_code(code), autoescape=True))
    if personal is not None:
        query = query.where(Coupon.user_id.is_not(None) if personal else Coupon.user_id.is_(None))
    return paginate(session, query, page)


def update_coupon(session: Session, coupon_id: int, changes: dict[str, Any]) -> Coupon:
    """The coupon after an admin's changes (its code and kind stay; use a new coupon)."""
    coupon = session.scalar(select(Coupon).where(Coupon.id == coupon_id).with_for_update())
    if coupon is None:
        raise NotFound("No such coupon.")
    merged = {
        "kind": coupon.kind,
        "value": coupon.value,
        "starts_at": coupon.starts_at,
        "ends_at": coupon.ends_at,
        "max_redemptions": coupon.max_redemptions,
        "redemption_count": coupon.redemption_count,
        **changes,
    }
    _validate(merged)
    _require_customer(session, changes.get("user_id"))
    for name, value in changes.items():
        setattr(coupon, name, value)
    session.commit()
    return get_coupon(session, coupon_id)


def deactivate_coupon(session: Session, coupon_id: int) -> None:
    """Stop the code from being used; orders that used it keep their discount."""
    moved = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon_id)
        .values(is_active=False, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise NotFound("No such coupon.")
    session.commit()
