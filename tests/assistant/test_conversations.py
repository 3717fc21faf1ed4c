"""Conversations belong to their user, or to whoever holds an anonymous conversation's id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from chatting import chat, configure
from support import LambdaClient, make_admin, sign_up

from shop.coltypes import utcnow


def test_anonymous_conversation_continues_by_its_id(client: LambdaClient) -> None:
    first = chat(client, "hello").json()

    second = chat(client, "shipping?", conversation_id=first["conversation_id"])

    assert second.status == 200
    assert second.json()["conversation_id"] == first["conversation_id"]
    assert len(first["conversation_id"]) >= 32


def test_signed_in_user_cannot_continue_an_anonymous_conversation(client: LambdaClient) -> None:
    anonymous = chat(client, "hello").json()
    shopper = sign_up(client)

    taken = chat(client, "hi", account=shopper, conversation_id=anonymous["conversation_id"])

    assert taken.status == 404 and taken.is_problem
    detail = client.get(
        f"/support/conversations/{anonymous['conversation_id']}", token=shopper.access_token
    )
    assert detail.status == 404


def test_anonymous_caller_cannot_continue_or_read_a_users_conversation(
    client: LambdaClient,
) -> None:
    shopper = sign_up(client)
    mine = chat(client, "hello", account=shopper).json()

    assert chat(client, "hi", conversation_id=mine["conversation_id"]).status == 404
    assert client.get(f"/support/conversations/{mine['conversation_id']}").status == 401


def test_other_users_cannot_continue_or_read_a_conversation(client: LambdaClient) -> None:
    owner, other = sign_up(client), sign_up(client)
    mine = chat(client, "my secret question", account=owner).json()
    path = f"/support/conversations/{mine['conversation_id']}"

    assert chat(client, "hi", account=other, conversation_id=mine["conversation_id"]).status == 404
    assert client.get(path, token=other.access_token).status == 404
    listed = client.get("/support/conversations", token=other.access_token).json()
    assert listed["total"] == 0


def test_owner_lists_and_reads_their_conversation_and_admin_can_read_it(
    client: LambdaClient,
) -> None:
    owner = sign_up(client)
    first = chat(client, "How long does shipping take?", account=owner).json()
    chat(client, "And returns?", account=owner, conversation_id=first["conversation_id"])
    path = f"/support/conversations/{first['conversation_id']}"

    listed = client.get("/support/conversations", token=owner.access_token).json()
    detail = client.get(path, token=owner.access_token).json()
    as_admin = client.get(path, token=make_admin(client).access_token)

    assert listed["total"] == 1
    assert listed["items"][0]["id"] == first["conversation_id"]
    assert listed["items"][0]["title"] == "How long does shipping take?"
    assert [(m["role"], m["content"][:12]) for m in detail["messages"]] == [
        ("user", "How long doe"),
        ("assistant", first["reply"][:12]),
        ("user", "And returns?"),
        ("assistant", "You can retu"),
    ]
    assert all(
        m["created_at"].endswith("Z") or "+00:00" in m["created_at"] for m in detail["messages"]
    )
    assert as_admin.status == 200 and as_admin.json()["messages"] == detail["messages"]


def test_unknown_or_malformed_conversation_ids_are_refused(client: LambdaClient) -> None:
    shopper = sign_up(client)

    assert chat(client, "hi", conversation_id="A" * 32).status == 404
    assert chat(client, "hi", conversation_id="../../etc").status == 422
    assert client.get("/support/conversations/nope", token=shopper.access_token).status == 404


def test_anonymous_conversation_expires_after_the_quiet_period(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    from shop.db import session_scope
    from shop.models import Conversation

    configure(settings_env, support_anonymous_ttl_seconds=3600)
    first = chat(client, "hello").json()
    with session_scope() as session:
        conversation = session.get(Conversation, first["conversation_id"])
        assert conversation is not None
        conversation.updated_at = utcnow() - timedelta(hours=2)

    assert chat(client, "still there?", conversation_id=first["conversation_id"]).status == 404


def test_each_message_records_a_support_message_event(client: LambdaClient) -> None:
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import BehaviorEvent

    shopper = sign_up(client)
    mine = chat(client, "Where is my order?", account=shopper).json()
    chat(client, "hello")

    with session_scope() as session:
        events = session.execute(
            select(BehaviorEvent.user_id, BehaviorEvent.payload)
            .where(BehaviorEvent.event_type == "support_message")
            .order_by(BehaviorEvent.id)
        ).all()
    assert [user_id for user_id, _ in events] == [shopper.id, None]
    assert events[0][1]["conversation_id"] == mine["conversation_id"]
    assert events[0][1]["model"] == "offline"
    assert events[0][1]["tools"] == ["list_my_orders"]
