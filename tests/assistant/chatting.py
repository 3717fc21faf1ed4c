"""Factories for the assistant tests: chat turns, shoppers with orders, stored state."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from shopping import ADDRESS, add_to_cart, checkout, new_product
from support import Account, LambdaClient, Reply, route

from shopfn.apigw import ProxyResponse, build_event
from shopfn.gateway import invoke

#: Looks like a real key, so the redaction of key-shaped strings is exercised too.
API_KEY = "sk-test-" + "k3y" * 8


def reconfigure() -> None:
    """Re-read settings and drop cached OpenAI clients after the environment changed."""
    from shop.services.support.openai_chat import reset_client_cache
    from shop.settings import get_settings

    get_settings.cache_clear()
    reset_client_cache()


def configure(env: pytest.MonkeyPatch, **values: object) -> None:
    """Set settings by name (`support_rate_limit_per_user=2`) and re-read them."""
    for name, value in values.items():
        env.setenv(name.upper(), str(value))
    reconfigure()


def chat(
    client: LambdaClient,
    message: str,
    *,
    account: Account | None = None,
    conversation_id: str | None = None,
    source_ip: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
) -> Reply:
    """POST /support/chat as API Gateway would deliver it from `source_ip`."""
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    data = json.dumps(body).encode()
    all_headers = {"content-type": "application/json", **(headers or {})}
    if account is not None:
        all_headers["authorization"] = f"Bearer {account.access_token}"
    spec = route("/support/chat")
    event = build_event(
        spec,
        "POST",
        "/support/chat",
        headers=list(all_headers.items()),
        body=data,
        source_ip=source_ip,
    )
    result = ProxyResponse.from_lambda(invoke(spec, event))
    return Reply(
        status=result.status,
        headers={name.lower(): value for name, value in result.headers},
        body=result.body,
    )


@dataclass
class PlacedOrder:
    id: int
    product_id: int
    product_name: str
    city: str


def order_for(
    client: LambdaClient, admin: Account, shopper: Account, *, city: str = "London"
) -> PlacedOrder:
    """A real order placed by `shopper` through the cart and orders APIs."""
    name = f"Teapot {uuid.uuid4().hex[:6]}"
    product_id = new_product(client, admin, name=name, price="12.50", stock=5)
    assert add_to_cart(client, shopper, product_id, 2).status == 201
    placed = checkout(client, shopper, address={**ADDRESS, "city": city})
    assert placed.status == 201, placed.body
    return PlacedOrder(id=placed.json()["id"], product_id=product_id, product_name=name, city=city)


def stored_messages(conversation_id: str) -> list[tuple[str, str]]:
    """(role, content) of every stored message of the conversation, oldest first."""
    from shop.db import session_scope
    from shop.services.support.conversations import messages_of

    with session_scope() as session:
        return [(m.role, m.content) for m in messages_of(session, conversation_id)]


def all_stored_text() -> str:
    """Every message and ticket text the support tables hold, joined (for leak checks)."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import ConversationMessage, SupportTicket

    with session_scope() as session:
        texts = list(session.scalars(select(ConversationMessage.content)))
        texts += list(session.scalars(select(SupportTicket.summary)))
    return "\n".join(texts)


def order_status(order_id: int) -> str:
    from shop.db import session_scope
    from shop.models import Order

    with session_scope() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return order.status
