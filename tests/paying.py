"""Paying for orders in tests: through the test mode's card route (the webhook path), or
with the real `stripe` SDK against the fake Stripe server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fake_stripe import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, FakeStripe
from shopping import add_to_cart, checkout
from support import Account, LambdaClient, Reply

SUCCEEDS = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
NEEDS_AUTHENTICATION = "4000 0025 0000 3155"
STRIPE_ENV = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PUBLISHABLE_KEY")


def place(client: LambdaClient, user: Account, product: int, quantity: int = 1) -> dict[str, Any]:
    """Put `quantity` of `product` in the cart and check out: the order, awaiting payment."""
    assert add_to_cart(client, user, product, quantity).status == 201
    reply = checkout(client, user)
    assert reply.status == 201, reply.body
    return dict(reply.json())


def pay(client: LambdaClient, user: Account, order_id: int, card: str = SUCCEEDS) -> Reply:
    """Pay the order in test mode with `card`; the event goes through the webhook code."""
    return client.post(
        f"/payments/orders/{order_id}/test-card",
        json={"card_number": card},
        token=user.access_token,
    )


def place_and_pay(
    client: LambdaClient, user: Account, lines: list[tuple[int, int]], card: str = SUCCEEDS
) -> dict[str, Any]:
    """Fill the cart, check out and pay (test mode); the order as it is after payment."""
    for product, quantity in lines:
        assert add_to_cart(client, user, product, quantity).status == 201
    placed = checkout(client, user)
    assert placed.status == 201, placed.body
    paid = pay(client, user, placed.json()["id"], card)
    assert paid.status == 200, paid.body
    reply = client.get(f"/orders/{placed.json()['id']}", token=user.access_token)
    return dict(reply.json())


def reconfigure() -> None:
    """Settings and provider caches re-read (after an environment change)."""
    from shop.payments.keys import reset_key_cache
    from shop.payments.stripe_provider import stripe_provider
    from shop.settings import get_settings

    get_settings.cache_clear()
    stripe_provider.cache_clear()
    reset_key_cache()


@contextmanager
def stripe_configured(fake: FakeStripe, **extra: str) -> Iterator[FakeStripe]:
    """The platform set up for Stripe, its API at the fake server, for the block."""
    saved = {name: os.environ.get(name) for name in (*STRIPE_ENV, "STRIPE_API_BASE", *extra)}
    os.environ.update(
        {
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "STRIPE_API_BASE": fake.api_base,
            "STRIPE_MAX_RETRIES": "0",
            **extra,
        }
    )
    reconfigure()
    try:
        yield fake
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        os.environ.pop("STRIPE_MAX_RETRIES", None)
        reconfigure()


def deliver(client: LambdaClient, body: bytes, signature: str | None) -> Reply:
    """POST a raw webhook delivery."""
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.request("POST", "/payments/webhook", body=body, headers=headers)
