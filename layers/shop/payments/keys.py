"""Stripe's keys: from the environment, else one Secrets Manager secret (AWS)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from shop.logging import get_logger
from shop.settings import get_settings


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str | None
    webhook_secret: str | None
    publishable_key: str | None


def stripe_keys() -> StripeKeys:
    """STRIPE_SECRET_KEY and friends, else what STRIPE_SECRET_ARN holds (read once)."""
    settings = get_settings()
    if settings.stripe_secret_key or not settings.stripe_secret_arn:
        return StripeKeys(
            settings.stripe_secret_key or None,
            settings.stripe_webhook_secret or None,
            settings.stripe_publishable_key or None,
        )
    return _from_secret(settings.stripe_secret_arn)


@lru_cache(maxsize=2)
def _from_secret(secret_arn: str) -> StripeKeys:
    """The secret is JSON with secret_key, webhook_secret and publishable_key.

    An unreadable secret is an error, never a silent fall back to the test mode: a shop that
    was set up for real payments must not start taking pretend ones.
    """
    from shop.secret_values import secret_string

    raw = secret_string(secret_arn)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        get_logger().error("Stripe secret is not JSON")
        raise RuntimeError("The Stripe secret must be JSON with secret_key.") from exc
    return StripeKeys(
        (data.get("secret_key") or "").strip() or None,
        (data.get("webhook_secret") or "").strip() or None,
        (data.get("publishable_key") or "").strip() or None,
    )


def reset_key_cache() -> None:
    """Forget keys read from Secrets Manager (tests, rotation)."""
    _from_secret.cache_clear()
