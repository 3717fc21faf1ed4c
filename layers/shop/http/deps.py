"""FastAPI dependencies shared by the functions: session, caller, admin check, paging.

They are `async def` on purpose, though they block: FastAPI runs a plain `def` dependency on
a worker thread, and in a Lambda (one request per process) each such hop costs more than
the dependency's work; an async one runs inline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.orm import Session

from shop.db import new_session
from shop.errors import AuthenticationFailed, PermissionDenied
from shop.pagination import PageRequest
from shop.tokens import Principal, verify_access_token


async def get_session() -> AsyncIterator[Session]:
    """A session for one request; whatever the service did not commit is rolled back."""
    session = new_session()
    try:
        yield session
    finally:
        session.close()


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
    return token.strip()


def _principal(request: Request) -> Principal | None:
    token = _bearer_token(request)
    return None if token is None else verify_access_token(token)


async def optional_principal(request: Request) -> Principal | None:
    """The caller when a token is sent (401 if that token is bad), else None."""
    return _principal(request)


async def require_principal(request: Request) -> Principal:
    """The signed-in caller; 401 without a valid token."""
    principal = _principal(request)
    if principal is None:
        raise AuthenticationFailed("Sign in first: this endpoint needs a bearer token.")
    return principal


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    """The signed-in caller if an admin; 403 for anyone else."""
    if not principal.is_admin:
        raise PermissionDenied("This endpoint is for admins only.")
    return principal


async def page_request(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PageRequest:
    """`?page=&page_size=` validated (page_size 1..100)."""
    return PageRequest(page=page, page_size=page_size)


SessionDep = Annotated[Session, Depends(get_session)]
CurrentUser = Annotated[Principal, Depends(require_principal)]
OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
AdminUser = Annotated[Principal, Depends(require_admin)]
PageDep = Annotated[PageRequest, Depends(page_request)]

#: A database id in a path: positive and within a 32-bit integer column on every backend.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
