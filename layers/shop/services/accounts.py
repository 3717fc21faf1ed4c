"""Accounts: registration, profile changes and the admin's view of users."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from shop.models import RefreshToken, User
from shop.pagination import PageRequest, PageResult, paginate
from shop.passwords import hash_password, verify_password
from shop.services.current_user import DEACTIVATED, bump_token_epoch
from shop.services.text_search import contains_pattern

ROLES = ("customer", "admin")


def normalize_email(email: str) -> str:
    """The canonical form e-mails are stored and compared in."""
    return email.strip().lower()


def register(session: Session, *, email: str, password: str, full_name: str) -> User:
    """A new customer account; Conflict when the e-mail is taken (in any letter case)."""
    email = normalize_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this e-mail already exists.")
    user = User(
        email=email, full_name=full_name, password_hash=hash_password(password), role="customer"
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent registration won the race
        session.rollback()
        raise Conflict("An account with this e-mail already exists.") from exc
    return user


def get_user(session: Session, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def get_active_user(session: Session, user_id: int) -> User:
    """The signed-in user; AuthenticationFailed once they are deactivated or gone.

    Access tokens live for minutes after a deactivation: acting as oneself checks the row.
    """
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed(DEACTIVATED)
    return user


def revoke_refresh_tokens(session: Session, user_id: int) -> None:
    """Revoke every live refresh token of the user (in the caller's transaction)."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@dataclass(frozen=True)
class ProfileChange:
    full_name: str | None = None
    password: str | None = None
    current_password: str | None = None
    marketing_opt_out: bool | None = None


def update_profile(session: Session, user_id: int, change: ProfileChange) -> User:
    """The user after changing their own name, password (needs the current one) or opt-out."""
    user = get_active_user(session, user_id)
    if change.full_name is not None:
        user.full_name = change.full_name
    if change.marketing_opt_out is not None:
        user.marketing_opt_out = change.marketing_opt_out
    if change.password is not None:
        if change.current_password is None or not verify_password(
            change.current_password, user.password_hash
        ):
            raise InvalidInput(
                "The current password is missing or wrong.", loc=["body", "current_password"]
            )
        _set_password(session, user, change.password)  # other sessions must sign in again
    session.commit()
    return user


def list_users(
    session: Session, page: PageRequest, *, q: str | None = None, role: str | None = None
) -> PageResult[User]:
    """A page of users, filtered by a search text (e-mail or name) and role."""
    query = select(User).order_by(User.id)
    if q:
        pattern = contains_pattern(q)
        query = query.where(
            or_(
                User.email.ilike(pattern, escape="\\"),
                User.full_name.ilike(pattern, escape="\\"),
            )
        )
    if role:
        query = query.where(User.role == role)
    return paginate(session, query, page)


def admin_update(
    session: Session,
    user_id: int,
    *,
    actor_id: int,
    role: str | None = None,
    is_active: bool | None = None,
) -> User:
    """The user after an admin changed their role or active flag.

    Admins cannot demote or deactivate themselves, so a shop never loses its last admin by
    accident. Deactivation revokes the user's refresh tokens at once, and any real change
    ends the user's access tokens on their next request (they sign in or refresh again).
    """
    user = get_user(session, user_id)
    if user.id == actor_id and (role == "customer" or is_active is False):
        raise Conflict("Admins cannot demote or deactivate their own account.")
    changed = (role is not None and role != user.role) or (
        is_active is not None and is_active != user.is_active
    )
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            revoke_refresh_tokens(session, user.id)
    if changed:
        bump_token_epoch(user)
    session.commit()
    return user


def has_admin(session: Session) -> bool:
    """True when at least one active admin exists."""
    query = select(User.id).where(User.role == "admin", User.is_active.is_(True)).limit(1)
    return session.scalar(query) is not None


def _set_password(session: Session, user: User, password: str) -> None:
    """A new password for `user`: every refresh and access token issued before it ends."""
    user.password_hash = hash_password(password)
    revoke_refresh_tokens(session, user.id)
    bump_token_epoch(user)


def ensure_admin(
    session: Session,
    *,
    email: str,
    password: str,
    full_name: str = "Administrator",
    reset_password: bool = False,
    promote_existing: bool = False,
    reactivate: bool = False,
) -> User:
    """An active admin with this e-mail: created if missing.

    An existing customer account is never promoted unless `promote_existing` says so: whoever
    registered the address chose its password, so promoting it would hand them the shop.
    Promoting sets `password` and signs the account out everywhere, as `reset_password` does.
    A deactivated admin stays deactivated unless `reactivate` says so: another admin chose
    that, and a server start (ADMIN_EMAIL) must never undo it.
    """
    email = normalize_email(email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email, full_name=full_name, password_hash=hash_password(password), role="admin"
        )
        session.add(user)
        session.commit()
        return user
    if user.role != "admin" and not promote_existing:
        raise Conflict(
            f"{email} already belongs to a customer account, so it was not made an admin: "
            "whoever registered it chose its password. If that account is yours, promote it "
            f"with `shopfn create-admin --email {email} --promote-existing` (this sets a new "
            "password and signs it out everywhere); otherwise choose another admin e-mail."
        )
    if user.role == "admin" and not user.is_active and not reactivate:
        raise Conflict(
            f"{email} is an admin account that an admin deactivated, so it was left "
            "deactivated. To re-activate it on purpose, run `shopfn create-admin --email "
            f"{email} --reactivate` (this sets a new password and signs it out everywhere), "
            "or re-activate it from another admin account."
        )
    if user.role != "admin" or reset_password:
        _set_password(session, user, password)
    if user.role != "admin" or not user.is_active:
        user.role = "admin"
        user.is_active = True
        bump_token_epoch(user)
    session.commit()
    return user
