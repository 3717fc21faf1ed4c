"""Accounts and sign-in state: users, refresh tokens, failed logins."""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from shop.coltypes import UTCDateTime, utcnow
from shop.models.base import Base, TimestampMixin


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="customer")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Bumped whenever role, active flag or password change: access tokens carry the epoch
    # they were signed at, and one from an earlier epoch is refused on its next request.
    token_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    #: The customer asked for no offers by e-mail: campaigns skip them, the outbox too.
    marketing_opt_out: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )

    __table_args__ = (CheckConstraint("role IN ('customer', 'admin')", name="role_valid"),)


class RefreshToken(Base):
    """One opaque refresh token (stored hashed); a family is one sign-in's rotation chain."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    family_id: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed sign-in for an account (by e-mail) from one client address.

    Recent ones throttle that account from that address, and past a higher ceiling slow down
    the account from everywhere (see `shop.services.auth`).
    """

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    address: Mapped[str | None] = mapped_column(String(80))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (Index("ix_login_failures_email_failed_at", "email", "failed_at"),)


class ThrottleLock(Base):
    """One row per throttled key (hashed), locked while a request counts against that key.

    Count-then-record is only atomic if requests for one key take turns: each upserts its
    key's row first, which holds a row lock (the write lock on SQLite) until it commits.
    """

    __tablename__ = "throttle_locks"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
