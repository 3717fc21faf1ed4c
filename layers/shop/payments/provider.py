"""What every payment provider does for the shop, in the provider's own terms (minor units)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

#: Currencies Stripe counts in whole units (no cents).
ZERO_DECIMAL = frozenset(
    {
        *("bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"),
        *("pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"),
    }
)


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit, as providers count it (19.99 USD -> 1999)."""
    if currency.lower() in ZERO_DECIMAL:
        return int(amount.to_integral_value())
    return int((amount * 100).to_integral_value())


def from_minor(amount: int, currency: str) -> Decimal:
    """The inverse of `to_minor`, two places."""
    if currency.lower() in ZERO_DECIMAL:
        return Decimal(amount).quantize(Decimal("0.01"))
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


class ProviderUnavailable(Exception):
    """The provider did not answer (timeout, connection, its own error): retry later."""


class ProviderRefused(Exception):
    """The provider answered no (a declined card, an intent that can no longer be cancelled,
    a refund larger than what is left); `message` is its reason in plain words."""

    def __init__(self, message: str, *, code: str | None = None, state: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        #: The intent's status when the provider says (e.g. `succeeded` on a refused cancel).
        self.state = state


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as the provider holds it."""

    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount: int


class PaymentProvider(Protocol):
    """The operations checkout, expiry, refunds and the webhook need from a provider.

    Every call that creates something takes an idempotency key: repeating it returns what
    the first call made, which is how a retry after a timeout converges on one intent.
    """

    name: str
    test_mode: bool
    publishable_key: str | None

    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent: ...

    def retrieve_intent(self, intent_id: str) -> Intent: ...

    def cancel_intent(self, intent_id: str) -> Intent: ...

    def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> Refund: ...

    def webhook_secret(self) -> str: ...
