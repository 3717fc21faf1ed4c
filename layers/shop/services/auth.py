"""Sign-in: password checks with throttling, token pairs and refresh rotation.

Throttling counts failed sign-ins per account and client address: the fifth failure in the
window locks that account from that address only (429), so a stranger cannot lock the owner
out. Past a higher ceiling of failures from all addresses together, the account itself backs
off: each further try waits twice as long as the last (at most a minute), which slows a
spread-out guesser to a crawl while the owner waits seconds, never the whole window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, delete, func, select, type_coerce, update
from sqlalchemy.orm import Session

from shop.behavior import record_event
from shop.coltypes import UTCDateTime, utcnow
from shop.errors import AuthenticationFailed, TooManyRequests
from shop.models import LoginFailure, RefreshToken, User
from shop.passwords import burn_verification_time, verify_password
from shop.services.accounts import normalize_email
from shop.services.throttle import address_bucket, lock_keys
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
    access, ttl = issue_access_token(user.id, user.role, user.token_epoch)
    return TokenPair(access_token=access, refresh_token=token, expires_in=ttl)


def _throttled(retry_after: float) -> TooManyRequests:
    return TooManyRequests(
        "Too many failed sign-ins for this account; try again later.",
        retry_after=math.ceil(retry_after),
    )


def _count_attempt(session: Session, email: str, address: str) -> int:
    """Record this sign-in as a failure up front (its id), or raise TooManyRequests (429).

    Attempts on one account take turns here (a row lock), and each is counted before its
    password is checked, so parallel guesses cannot all pass a count taken before any of
    them failed. A sign-in that succeeds takes its failure back. Commits on its own.
    """
    settings = get_settings()
    now = utcnow()
    window_start = now - timedelta(seconds=settings.login_failure_window_seconds)
    lock_keys(session, f"login:{email}")
    here = LoginFailure.address == address
    total, last, from_here, first_here = session.execute(
        select(
            func.count(),
            func.max(LoginFailure.failed_at),
            func.count(case((here, 1))),
            type_coerce(func.min(case((here, LoginFailure.failed_at))), UTCDateTime()),
        ).where(LoginFailure.email == email, LoginFailure.failed_at > window_start)
    ).one()
    if from_here >= settings.login_max_failures and first_here is not None:
        session.rollback()
        raise _throttled((first_here - window_start).total_seconds())
    over = total - settings.login_account_max_failures
    if over >= 0 and last is not None:
        wait = min(2.0**over, settings.login_backoff_max_seconds)
        if (waited := (now - last).total_seconds()) < wait:
            session.rollback()
            raise _throttled(wait - waited)
    failure = LoginFailure(email=email, address=address, failed_at=now)
    session.add(failure)
    session.commit()
    return failure.id


def login(session: Session, *, email: str, password: str, address: str = "unknown") -> TokenPair:
    """A token pair for valid credentials, asked for from the client `address`.

    Unknown e-mail, wrong password and deactivated account all fail alike and take one
    bcrypt verification each; see the module's note for the throttle (429).
    """
    email = normalize_email(email)
    address = address_bucket(address)
    counted = _count_attempt(session, email, address)
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        burn_verification_time(password)
        ok = False
    else:
        ok = verify_password(password, user.password_hash) and user.is_active
    if not ok or user is None:
        raise AuthenticationFailed(WRONG_CREDENTIALS)
    # The owner is back: this attempt's failure and the earlier ones from this address go.
    # Guesses counted after this attempt (in parallel with its password check) stay counted.
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.email == email,
            LoginFailure.address == address,
            LoginFailure.id <= counted,
        )
    )
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
