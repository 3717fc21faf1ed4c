"""Taking payment for orders: one provider interface, Stripe or the local test mode.

`get_provider(session)` answers Stripe when a Stripe secret key is configured
(STRIPE_SECRET_KEY or STRIPE_SECRET_ARN), else the test mode, which keeps its
PaymentIntents in the database, takes Stripe's test card numbers and signs its events the
way Stripe does, so they go through the same webhook code.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shop.errors import Unavailable
from shop.payments.keys import stripe_keys
from shop.payments.provider import PaymentProvider


def get_provider(session: Session) -> PaymentProvider:
    """The configured provider; the test mode works inside `session`'s transaction.

    A Stripe secret (STRIPE_SECRET_ARN) that holds no key yet is Unavailable, never the test
    mode: a shop deployed for real payments must not take pretend ones.
    """
    keys = stripe_keys()
    if keys.secret_key:
        from shop.payments.stripe_provider import stripe_provider

        return stripe_provider(keys.secret_key, keys.webhook_secret, keys.publishable_key)
    if keys.from_secret:
        raise Unavailable(
            "Payments are not set up yet: the Stripe secret holds no secret_key "
            "(docs/deploy.md, Payments)."
        )
    from shop.payments.test_mode import TestModeProvider

    return TestModeProvider(session)


def in_test_mode() -> bool:
    """True when payments run in the local test mode (no Stripe key, no Stripe secret)."""
    keys = stripe_keys()
    return not keys.secret_key and not keys.from_secret


__all__ = ["PaymentProvider", "get_provider", "in_test_mode"]
