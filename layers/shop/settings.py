"""One pydantic-settings object: every knob comes from the environment, with local defaults."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: A local schedule: 'HH:MM' (UTC), 'every:SECONDS' or 'off'.
SCHEDULE_PATTERN = re.compile(r"off|none|([01]?\d|2[0-3]):[0-5]\d|every:\d+(\.\d+)?")


class Settings(BaseSettings):
    """Configuration read from environment variables (see docs/configuration in the README)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    environment: str = Field(default="local", description="local, dev, prod or test")
    data_dir: Path = Field(default=Path(".data"), description="Local state: SQLite, keys, models")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; SQLite under DATA_DIR when unset"
    )
    database_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret with RDS credentials (AWS)"
    )
    db_pool_size: int = 5
    db_prepare_threshold: int = Field(
        default=0,
        ge=0,
        description="PostgreSQL: a statement's run on a connection from which it is kept "
        "prepared (0: never; only on a direct connection, never behind a transaction pooler)",
    )
    db_connect_timeout: float = Field(
        default=5.0, gt=0, description="PostgreSQL: seconds to open a connection"
    )
    db_statement_timeout: float = Field(
        default=15.0,
        ge=0,
        description="PostgreSQL: seconds a statement may run (0: no limit); an answer later "
        "than this plus DB_CONNECT_TIMEOUT drops the connection",
    )
    db_statement_timeout_scope: Literal["transaction", "role"] = Field(
        default="transaction",
        description="PostgreSQL: how the server learns DB_STATEMENT_TIMEOUT: SET LOCAL with "
        "each transaction, or `role` (the deploy hook sets it on the database role; nothing "
        "per transaction, so RDS Proxy never pins a session for it)",
    )

    jwt_issuer: str = "shopfn"
    jwt_audience: str = "shopfn-api"
    jwt_private_key: str | None = Field(default=None, description="PEM; generated locally")
    jwt_public_key: str | None = Field(default=None, description="PEM; derived locally")
    jwt_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret holding the signing key pair (AWS)"
    )
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    bcrypt_rounds: int = Field(default=12, ge=4, le=31, description="Cost of password hashes")
    login_max_failures: int = Field(default=5, ge=1, description="Per account and address")
    login_failure_window_seconds: int = 15 * 60
    login_account_max_failures: int = Field(
        default=20, ge=1, description="Per account from all addresses, before backoff"
    )
    login_backoff_max_seconds: int = Field(default=60, ge=1, description="Longest backoff wait")

    admin_email: str | None = None
    admin_password: str | None = None

    openai_api_key: str | None = Field(
        default=None, description="OpenAI key; without one the support chat answers offline"
    )
    openai_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret holding the OpenAI key (AWS)"
    )
    openai_base_url: str | None = Field(
        default=None, description="Any OpenAI-compatible server; the official API when unset"
    )
    openai_model: str = "gpt-4o"
    openai_timeout_seconds: float = Field(default=10.0, gt=0, description="Per attempt")
    openai_max_retries: int = Field(default=1, ge=0, le=3)
    # API Gateway gives up after 29 s: the whole chat turn, every model round included,
    # must be answered (offline if need be) well before that.
    support_deadline_seconds: float = Field(default=20.0, gt=0)
    support_history_token_budget: int = Field(default=3000, ge=100)
    support_rate_limit_per_user: int = Field(default=20, ge=1, description="Chats per window")
    support_rate_limit_per_address: int = Field(default=60, ge=1, description="Per client IP")
    support_rate_window_seconds: int = Field(default=60, ge=1)
    support_anonymous_ttl_seconds: int = Field(
        default=24 * 3600, ge=60, description="Idle time after which an anonymous chat ends"
    )
    support_contact_email: str = "support@shopfn.example"

    # Housekeeping (shop.services.housekeeping): how long rows that only matter for a while
    # are kept, and how the purge runs. See "Housekeeping" in the README.
    idempotency_key_retention_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 365,
        description="A checkout retried with the same Idempotency-Key within this many hours "
        "replays the first order; older keys are purged",
    )
    login_failure_retention_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 365,
        description="Failed sign-ins are kept this long (never less than the throttle window)",
    )
    behavior_event_retention_days: int = Field(
        default=400,
        ge=1,
        le=36500,
        description="Behavior events are kept this long (at least the ML models' look-back)",
    )
    housekeeping_batch_size: int = Field(
        default=5000, ge=100, le=100_000, description="Rows deleted per short transaction"
    )
    housekeeping_schedule: str = Field(
        default="every:3600",
        description="Local purge schedule under `shopfn serve`: 'HH:MM' UTC, 'every:SECONDS' "
        "or 'off'",
    )

    max_body_bytes: int = 1024 * 1024
    artifact_bucket: str | None = None
    aws_endpoint_url: str | None = None

    @field_validator("housekeeping_schedule")
    @classmethod
    def _schedule_shape(cls, value: str) -> str:
        spec = value.strip().lower()
        every = spec.startswith("every:") and SCHEDULE_PATTERN.fullmatch(spec)
        if not SCHEDULE_PATTERN.fullmatch(spec) or (every and float(spec[6:]) <= 0):
            raise ValueError(
                "HOUSEKEEPING_SCHEDULE must be 'HH:MM' (UTC), 'every:SECONDS' (more than 0) "
                f"or 'off', not {value!r}"
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL to connect to: DATABASE_URL, else SQLite under DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shopfn.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; tests call `get_settings.cache_clear()`."""
    return Settings()
