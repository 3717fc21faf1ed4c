"""Sign-in: password checks with per-account throttling, token pairs and refresh rotation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from shop.behavior import record_event
from shop.coltypes import utcnow
from shop.errors import AuthenticationFailed, TooManyRequests
from shop.models import LoginFailure, RefreshToken, User
from shop.passwords import burn_verification_time, verify_password
from shop.services.accounts import normalize_email
from shop.settings import get_settings
from shop.tokens import hash_refresh_token, issue_access_token, new_refresh_token

WRONG_CREDENTIALS = "E-mail or password is incorrect."


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


def _issue_pair(session: Session, user: User, family_id: str | None = None) -> TokenPair:
    """Add a new refresh token for `user` (in `family_id`, or a new family) and sign an access."""
    settings = get_settings()
    token, token_hash, new_family = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or new_family,
            token_hash=token_hash,
            expires_at=utcnow() + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    access, ttl = issue_access_token(user.id, user.role)
    return TokenPair(access_token=access, refresh_token=token, expires_in=ttl)


def _check_throttle(session: Session, email: str) -> None:
    settings = get_settings()
    window_start = utcnow() - timedelta(seconds=settings.login_failure_window_seconds)
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.failed_at)).where(
            LoginFailure.email == email, LoginFailure.failed_at > window_start
        )
    ).one()
    if count >= settings.login_max_failures and oldest is not None:
        retry_after = int((oldest - window_start).total_seconds()) + 1
        raise TooManyRequests(
            "Too many failed sign-ins for this account; try again later.", retry_after=retry_after
        )


def login(session: Session, *, email: str, password: str) -> TokenPair:
    """A token pair for valid credentials.

    Unknown e-mail, wrong password and deactivated account all fail alike and take one
    bcrypt verification each; the fifth failure in the window throttles that account (429).
    """
    email = normalize_email(email)
    _check_throttle(session, email)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        burn_verification_time(password)
        ok = False
    else:
        ok = verify_password(password, user.password_hash) and user.is_active
    if not ok or user is None:
        session.add(LoginFailure(email=email))
        session.commit()
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    pair = _issue_pair(session, user)
    record_event(session, "login", user_id=user.id)
    session.commit()
    return pair


def refresh(session: Session, token: str) -> TokenPair:
    """A new token pair for a live refresh token, which is spent by this call.

    Presenting a spent token again means it leaked: its whole family is revoked.
    """
    now = utcnow()
    stored = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token))
    )
    if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
        raise AuthenticationFailed("Refresh token is invalid or expired.")
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == stored.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.commit()
        raise AuthenticationFailed("Refresh token was already used; please sign in again.")
    user = session.get(User, stored.user_id)
    if user is None or not user.is_active:
        session.rollback()
        raise AuthenticationFailed("Refresh token is invalid or expired.")
    pair = _issue_pair(session, user, stored.family_id)
    session.commit()
    return pair
