"""FastAPI dependencies shared by the functions: session, caller, admin check, paging.

They are `async def` on purpose, though they block: FastAPI runs a plain `def` dependency on
a worker thread, and in a Lambda (one request per process) each such hop costs more than
the dependency's work; an async one runs inline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Path, Query, Request

from shop.db import new_session
from shop.errors import AuthenticationFailed, PermissionDenied
from shop.http.dashboard_proxy import forwarded_address
from shop.pagination import PageRequest
from shop.tokens import Principal, verify_access_token

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shop.models import User
else:
    # FastAPI never validates what a dependency returns, so at run time these annotations need
    # not be the ORM's classes: importing them here would load SQLAlchemy's ORM and the account
    # model into every cold start, health checks included. The first request that opens a
    # session or checks a token loads them.
    Session = User = Any

SIGN_IN_FIRST = "Sign in first: this endpoint needs a bearer token."


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


def _principal(request: Request, session: Session) -> Principal | None:
    """The caller of a valid token as the database knows it now (one primary-key read)."""
    token = _bearer_token(request)
    if token is None:
        return None
    from shop.services.current_user import confirm_principal

    return confirm_principal(session, verify_access_token(token))


async def optional_principal(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> Principal | None:
    """The caller when a token is sent (401 if that token is bad or out of date), else None."""
    return _principal(request, session)


async def require_principal(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> Principal:
    """The signed-in caller; 401 without a valid, current token."""
    principal = _principal(request, session)
    if principal is None:
        raise AuthenticationFailed(SIGN_IN_FIRST)
    return principal


async def require_account(
    request: Request, session: Annotated[Session, Depends(get_session)]
) -> User:
    """The signed-in caller's own account row, read once with the token's check; 401 as
    `require_principal`."""
    token = _bearer_token(request)
    if token is None:
        raise AuthenticationFailed(SIGN_IN_FIRST)
    from shop.services.current_user import confirm_account

    return confirm_account(session, verify_access_token(token))


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    """The signed-in caller if an admin now; 403 for anyone else."""
    if not principal.is_admin:
        raise PermissionDenied("This endpoint is for admins only.")
    return principal


def client_address(request: Request) -> str:
    """The caller's address as API Gateway saw it, or as the shop's dashboard forwarded it.

    The dashboard's forwarded browser address counts only with the shared secret
    (`shop.http.dashboard_proxy`). Otherwise `requestContext.identity.sourceIp`, set by API
    Gateway itself; only without it (outside API Gateway) does the last X-Forwarded-For entry
    count, the one the nearest proxy added. The first entries are whatever the client wrote
    and are never trusted.
    """
    forwarded_by_dashboard = forwarded_address(request.headers)
    if forwarded_by_dashboard is not None:
        return forwarded_by_dashboard
    event = request.scope.get("aws.event") or {}
    identity = (event.get("requestContext") or {}).get("identity") or {}
    if identity.get("sourceIp"):
        return str(identity["sourceIp"])
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"


async def page_request(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PageRequest:
    """`?page=&page_size=` validated (page_size 1..100)."""
    return PageRequest(page=page, page_size=page_size)


SessionDep = Annotated[Session, Depends(get_session)]
CurrentUser = Annotated[Principal, Depends(require_principal)]
CurrentAccount = Annotated[User, Depends(require_account)]
OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
AdminUser = Annotated[Principal, Depends(require_admin)]
PageDep = Annotated[PageRequest, Depends(page_request)]

#: A database id in a path: positive and within a 32-bit integer column on every backend.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
