"""Stripe's keys: from the environment, else one Secrets Manager secret (AWS)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from shop.errors import Unavailable
from shop.logging import get_logger
from shop.settings import get_settings


@dataclass(frozen=True)
class StripeKeys:
    secret_key: str | None
    webhook_secret: str | None
    publishable_key: str | None
    #: Read from STRIPE_SECRET_ARN (AWS): then there is no test mode, even without a key.
    from_secret: bool = False


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

    An unreadable secret is Unavailable, never a silent fall back to the test mode: a shop
    that was set up for real payments must not start taking pretend ones.
    """
    from shop.secret_values import secret_string

    try:
        data = json.loads(secret_string(secret_arn))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except Exception as exc:  # unreadable now: not cached, so the next call tries again
        get_logger().error("Stripe secret not readable or not JSON")
        raise Unavailable("The payment service's keys can't be read just now.") from exc
    return StripeKeys(
        (data.get("secret_key") or "").strip() or None,
        (data.get("webhook_secret") or "").strip() or None,
        (data.get("publishable_key") or "").strip() or None,
        from_secret=True,
    )


def reset_key_cache() -> None:
    """Forget keys read from Secrets Manager (tests, rotation)."""
    _from_secret.cache_clear()
