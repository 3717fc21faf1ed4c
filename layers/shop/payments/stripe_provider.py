"""The Stripe provider, on the official `stripe` SDK (imported here only: cold start)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shop.logging import get_logger
from shop.payments.provider import Intent, ProviderRefused, ProviderUnavailable, Refund
from shop.settings import get_settings

if TYPE_CHECKING:
    import stripe


@lru_cache(maxsize=2)
def stripe_provider(
    secret_key: str, webhook_secret: str | None, publishable_key: str | None
) -> StripeProvider:
    """One provider (and HTTP connection pool) per key set, reused across invocations."""
    return StripeProvider(secret_key, webhook_secret, publishable_key)


def _intent(resource: Any) -> Intent:
    obj = resource.to_dict()
    return Intent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).lower(),
        client_secret=obj.get("client_secret"),
        metadata=dict(obj.get("metadata") or {}),
    )


class StripeProvider:
    """PaymentIntents and refunds through Stripe's API."""

    name = "stripe"
    test_mode = False

    def __init__(
        self, secret_key: str, webhook_secret: str | None, publishable_key: str | None
    ) -> None:
        import stripe

        settings = get_settings()
        self.publishable_key = publishable_key
        self._webhook_secret = webhook_secret
        addresses: Any = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses=addresses,
            # The SDK retries timeouts and 5xx itself, with the same idempotency key.
            max_network_retries=settings.stripe_max_retries,
            http_client=stripe.RequestsClient(timeout=settings.stripe_timeout_seconds),
        )

    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        params: Any = {
            "amount": amount,
            "currency": currency.lower(),
            "metadata": metadata,
            "automatic_payment_methods": {"enabled": True},
        }
        return _intent(
            self._call(
                lambda: self._client.v1.payment_intents.create(
                    params=params, options={"idempotency_key": idempotency_key}
                )
            )
        )

    def retrieve_intent(self, intent_id: str) -> Intent:
        return _intent(self._call(lambda: self._client.v1.payment_intents.retrieve(intent_id)))

    def cancel_intent(self, intent_id: str) -> Intent:
        return _intent(self._call(lambda: self._client.v1.payment_intents.cancel(intent_id)))

    def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> Refund:
        params: Any = {"payment_intent": intent_id, "amount": amount}
        refund = self._call(
            lambda: self._client.v1.refunds.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        )
        return Refund(id=refund.id, status=refund.status, amount=int(refund.amount))

    def webhook_secret(self) -> str:
        if not self._webhook_secret:
            raise ProviderUnavailable("STRIPE_WEBHOOK_SECRET is not set")
        return self._webhook_secret

    def _call(self, request: Any) -> Any:
        """Run one SDK call; Stripe's errors become ProviderRefused or ProviderUnavailable."""
        import stripe

        try:
            return request()
        except (stripe.CardError, stripe.InvalidRequestError) as exc:
            raise _refused(exc) from exc
        except stripe.StripeError as exc:
            # Connection, timeout, rate limit, Stripe's 5xx, a key in use by a concurrent
            # request, a wrong key: nothing we can fix by answering no. Retry later.
            get_logger().warning(
                "Stripe did not answer",
                extra={"error": type(exc).__name__, "status": getattr(exc, "http_status", None)},
            )
            raise ProviderUnavailable(type(exc).__name__) from exc


def _refused(exc: stripe.StripeError) -> ProviderRefused:
    error = (exc.json_body or {}).get("error") or {}
    intent = error.get("payment_intent") or {}
    return ProviderRefused(
        error.get("message") or str(exc.user_message or "The payment provider refused."),
        code=error.get("code"),
        state=intent.get("status"),
    )
