"""Least privilege: what each function may touch beyond its database and token-verify key."""

from __future__ import annotations

from enum import StrEnum


class Grant(StrEnum):
    JWT_SIGNING = "jwt-signing"  # the private key; everyone else gets the public half only
    ARTIFACTS_READ = "artifacts-read"
    ARTIFACTS_WRITE = "artifacts-write"
    OPENAI_KEY = "openai-key"
    INVOKE_SELF = "invoke-self"  # queue an asynchronous run of itself
    DASHBOARD_PROXY = "dashboard-proxy"  # believe the address the dashboard forwards
    STRIPE_KEYS = "stripe-keys"  # the Stripe secret key and webhook signing secret


GRANTS: dict[str, frozenset[Grant]] = {
    # sign-in and refresh issue tokens; sign-in failures are throttled per address
    "users": frozenset({Grant.JWT_SIGNING, Grant.DASHBOARD_PROXY}),
    "predict": frozenset({Grant.ARTIFACTS_READ}),
    "retrain": frozenset({Grant.ARTIFACTS_WRITE, Grant.INVOKE_SELF}),
    "support": frozenset({Grant.OPENAI_KEY, Grant.DASHBOARD_PROXY}),  # chats per address
    # checkout creates the PaymentIntent; payments verifies webhooks, refunds, expires
    "orders": frozenset({Grant.STRIPE_KEYS}),
    "payments": frozenset({Grant.STRIPE_KEYS}),
}


def grants_for(function: str) -> frozenset[Grant]:
    """The extra permissions of `function` (none for a function not listed)."""
    return GRANTS.get(function, frozenset())
