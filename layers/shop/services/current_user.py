"""The caller's current state: what a token claims is checked against the account's row.

An access token lives for minutes; the account can change in between. Every authenticated
request therefore reads the row once (primary key: role, active flag, token epoch), so a
role change, a deactivation or a password change takes effect on the very next request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from shop.errors import AuthenticationFailed
from shop.models import User
from shop.tokens import Principal

DEACTIVATED = "This account is deactivated."
OUT_OF_DATE = (
    "Your sign-in is out of date: this account's role, status or password changed. "
    "Please sign in again."
)

#: Built once, so each request only binds the id to an already compiled statement. On the
#: table's columns, not the mapped attributes: an ORM statement configures every mapper of the
#: shop on its first run (about 30 ms of a cold start), and this read needs only three columns.
_USERS = User.__table__
_STATE: Any = select(_USERS.c.role, _USERS.c.is_active, _USERS.c.token_epoch).where(
    _USERS.c.id == bindparam("user_id")
)


def confirm_principal(session: Session, claimed: Principal) -> Principal:
    """The caller as the database knows it now; AuthenticationFailed (401) when the token
    belongs to a deleted or deactivated account or predates a change to it."""
    row = session.execute(_STATE, {"user_id": claimed.user_id}).one_or_none()
    if row is None:
        raise AuthenticationFailed("invalid or expired access token")
    role, is_active, epoch = row
    _refuse_unless_current(claimed, is_active=is_active, epoch=epoch)
    return Principal(user_id=claimed.user_id, role=role, epoch=epoch)


def confirm_account(session: Session, claimed: Principal) -> User:
    """The caller's whole account row, checked as `confirm_principal` checks the token.

    For a route that shows the account itself (`GET /users/me`): the check and the row are
    one read instead of two.
    """
    user = session.get(User, claimed.user_id)
    if user is None:
        raise AuthenticationFailed("invalid or expired access token")
    _refuse_unless_current(claimed, is_active=user.is_active, epoch=user.token_epoch)
    return user


def _refuse_unless_current(claimed: Principal, *, is_active: bool, epoch: int) -> None:
    if not is_active:
        raise AuthenticationFailed(DEACTIVATED)
    if epoch != claimed.epoch:
        raise AuthenticationFailed(OUT_OF_DATE)


def bump_token_epoch(user: User) -> None:
    """End every access token of `user` issued so far (on its caller's commit).

    Incremented in SQL, not from the value this session loaded: of two changes committed
    one after the other, the second must still end tokens issued in between.
    """
    user.token_epoch = User.token_epoch + 1
