"""Request and response bodies of the users function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field

from shop.http.schemas import MoneyOut, RequestBody, Response, SafeStr, VerbatimStr

# Passwords are taken exactly as typed: request bodies strip whitespace, passwords must not.
Password = Annotated[VerbatimStr, Field(min_length=8, max_length=1024)]
AnyPassword = Annotated[VerbatimStr, Field(max_length=1024)]
FullName = Annotated[SafeStr, Field(min_length=1, max_length=200)]


class RegisterIn(RequestBody):
    email: Annotated[EmailStr, Field(max_length=320)]
    password: Password
    full_name: FullName


class LoginIn(RequestBody):
    email: Annotated[SafeStr, Field(min_length=1, max_length=320)]
    password: Annotated[AnyPassword, Field(min_length=1)]


class RefreshIn(RequestBody):
    refresh_token: Annotated[SafeStr, Field(min_length=1, max_length=512)]


class ProfilePatch(RequestBody):
    full_name: FullName | None = None
    password: Password | None = None
    current_password: AnyPassword | None = None
    #: True: no offers by e-mail (campaign messages are skipped, even ones already queued).
    marketing_opt_out: bool | None = None


class AdminUserPatch(RequestBody):
    role: Literal["customer", "admin"] | None = None
    is_active: bool | None = None


class TokenOut(Response):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class UserOut(Response):
    id: int
    email: str
    full_name: str
    role: Literal["customer", "admin"]
    is_active: bool
    marketing_opt_out: bool
    created_at: datetime


class OfferOut(Response):
    """A personal code the signed-in customer can use now: the storefront's offer banner."""

    code: str
    kind: Literal["percent", "amount"]
    value: MoneyOut
    description: str
    min_order: MoneyOut | None
    ends_at: datetime | None
