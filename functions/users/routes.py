"""Routes of the users function: accounts, sign-in and the public signing keys."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status

from shop.http.deps import (
    AdminUser,
    CurrentAccount,
    CurrentUser,
    IdPath,
    PageDep,
    SessionDep,
    client_address,
)
from shop.http.schemas import Page, SafeStr
from shop.tokens import public_jwks

from .schemas import (
    AdminUserPatch,
    LoginIn,
    OfferOut,
    ProfilePatch,
    RefreshIn,
    RegisterIn,
    TokenOut,
    UserOut,
)

router = APIRouter(tags=["users"])

# The account and sign-in services (with SQLAlchemy's ORM and the account models) are imported
# by the routes that call them, so a health check's cold start loads none of them.


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def register(body: RegisterIn, session: SessionDep, response: Response) -> Any:
    """Create a customer account (the role is always `customer`)."""
    from shop.services import accounts

    user = accounts.register(
        session, email=body.email, password=body.password, full_name=body.full_name
    )
    response.headers["Location"] = f"/users/{user.id}"
    return user


@router.post("/login", response_model=TokenOut)
# async: a hot path, so it runs inline instead of on a worker thread (see shop.http.deps)
async def login(body: LoginIn, request: Request, session: SessionDep) -> Any:
    """Exchange e-mail and password for an access and a refresh token."""
    from shop.services import auth

    return auth.login(
        session, email=body.email, password=body.password, address=client_address(request)
    )


@router.post("/refresh", response_model=TokenOut)
def refresh(body: RefreshIn, session: SessionDep) -> Any:
    """Spend a refresh token for a new token pair (rotation)."""
    from shop.services import auth

    return auth.refresh(session, body.refresh_token)


@router.get("/.well-known/jwks.json")
def jwks() -> dict[str, Any]:
    """The public keys that verify shopfn access tokens."""
    return public_jwks()


@router.get("/me", response_model=UserOut)
# async: nothing left to do but answer (the dependency read the row), so no worker thread
async def me(account: CurrentAccount) -> Any:
    """The signed-in user."""
    return account


@router.patch("/me", response_model=UserOut)
def update_me(body: ProfilePatch, principal: CurrentUser, session: SessionDep) -> Any:
    """Change your name, your password (give `current_password` too), or opt out of offers."""
    from shop.services import accounts

    change = accounts.ProfileChange(
        full_name=body.full_name,
        password=body.password,
        current_password=body.current_password,
        marketing_opt_out=body.marketing_opt_out,
    )
    return accounts.update_profile(session, principal.user_id, change)


@router.get("/me/offers", response_model=list[OfferOut])
def my_offers(principal: CurrentUser, session: SessionDep) -> Any:
    """Your personal codes you can use now, the soonest to end first (the offer banner)."""
    from shop.services import coupons  # the coupon and order models: this route's alone

    return coupons.usable_personal_coupons(session, principal.user_id)


@router.get("", response_model=Page[UserOut])
def list_users(
    _admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    q: Annotated[SafeStr | None, Query(max_length=200)] = None,
    role: Literal["customer", "admin"] | None = None,
) -> Any:
    """All users, searchable by e-mail or name (admins only)."""
    from shop.services import accounts

    return accounts.list_users(session, page, q=q, role=role)


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: IdPath, _admin: AdminUser, session: SessionDep) -> Any:
    """One user (admins only)."""
    from shop.services import accounts

    return accounts.get_user(session, user_id)


@router.patch("/{user_id}", response_model=UserOut)
def update_user(
    user_id: IdPath, body: AdminUserPatch, admin: AdminUser, session: SessionDep
) -> Any:
    """Change a user's role or deactivate them (admins only)."""
    from shop.services import accounts

    return accounts.admin_update(
        session, user_id, actor_id=admin.user_id, role=body.role, is_active=body.is_active
    )
