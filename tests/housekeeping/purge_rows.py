"""Rows of every purged table, written straight to the database at chosen instants."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from shop.db import session_scope
from shop.models import (
    BehaviorEvent,
    Conversation,
    ConversationMessage,
    IdempotencyRecord,
    LoginFailure,
    OutboxMessage,
    PaymentEvent,
    RefreshToken,
    SupportRateHit,
    SupportTicket,
    ThrottleLock,
    User,
)


def customer() -> int:
    """A customer's id (the rows below refer to users)."""
    with session_scope() as session:
        user = User(
            email=f"hk-{uuid.uuid4().hex[:10]}@example.com",
            full_name="Housekeeping Shopper",
            password_hash="x" * 60,
        )
        session.add(user)
        session.flush()
        return user.id


def idempotency_key(user_id: int, created_at: datetime) -> int:
    with session_scope() as session:
        record = IdempotencyRecord(
            user_id=user_id,
            key=uuid.uuid4().hex,
            request_hash="0" * 64,
            state="completed",
            created_at=created_at,
            locked_at=created_at,
            completed_at=created_at,
        )
        session.add(record)
        session.flush()
        return record.id


def refresh_token(
    user_id: int,
    expires_at: datetime,
    *,
    used_at: datetime | None = None,
    revoked_at: datetime | None = None,
) -> int:
    with session_scope() as session:
        token = RefreshToken(
            user_id=user_id,
            family_id=str(uuid.uuid4()),
            token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            created_at=expires_at - timedelta(days=30),
            expires_at=expires_at,
            used_at=used_at,
            revoked_at=revoked_at,
        )
        session.add(token)
        session.flush()
        return token.id


def payment_event(received_at: datetime) -> int:
    with session_scope() as session:
        handled = PaymentEvent(
            event_id=f"evt_{uuid.uuid4().hex}",
            event_type="payment_intent.succeeded",
            outcome="applied",
            received_at=received_at,
        )
        session.add(handled)
        session.flush()
        return handled.id


def outbox_message(
    user_id: int, created_at: datetime, status: str = "sent", *, sent_at: datetime | None = None
) -> int:
    """A message written at `created_at`; a sent one was sent then unless `sent_at` says."""
    if status == "sent" and sent_at is None:
        sent_at = created_at
    with session_scope() as session:
        message = OutboxMessage(
            user_id=user_id,
            to_address="someone@example.com",
            subject="We miss you",
            body="10% off your next order",
            status=status,
            channel=None if status == "pending" else "local",
            created_at=created_at,
            sent_at=sent_at,
        )
        session.add(message)
        session.flush()
        return message.id


def login_failure(failed_at: datetime) -> int:
    with session_scope() as session:
        failure = LoginFailure(email="someone@example.com", failed_at=failed_at)
        session.add(failure)
        session.flush()
        return failure.id


def throttle_lock(touched_at: datetime) -> str:
    key = uuid.uuid4().hex
    with session_scope() as session:
        session.add(ThrottleLock(key=key, touched_at=touched_at))
    return key


def rate_hit(hit_at: datetime, bucket: str = "addr:203.0.113.7") -> int:
    with session_scope() as session:
        hit = SupportRateHit(bucket=bucket, hit_at=hit_at)
        session.add(hit)
        session.flush()
        return hit.id


def conversation(
    updated_at: datetime, *, user_id: int | None = None, ticket: bool = False, messages: int = 2
) -> str:
    """A conversation last active at `updated_at`, with messages and maybe a ticket."""
    conversation_id = uuid.uuid4().hex
    with session_scope() as session:
        session.add(
            Conversation(
                id=conversation_id,
                user_id=user_id,
                title="hello",
                created_at=updated_at,
                updated_at=updated_at,
            )
        )
        session.flush()
        for i in range(messages):
            session.add(
                ConversationMessage(
                    conversation_id=conversation_id,
                    role="user" if i % 2 == 0 else "assistant",
                    content=f"message {i}",
                    tools_used=[],
                    created_at=updated_at,
                )
            )
        if ticket:
            session.add(
                SupportTicket(conversation_id=conversation_id, user_id=user_id, summary="help")
            )
    return conversation_id


def behavior_event(occurred_at: datetime, user_id: int | None = None) -> int:
    with session_scope() as session:
        event = BehaviorEvent(
            user_id=user_id, event_type="product_view", payload={}, occurred_at=occurred_at
        )
        session.add(event)
        session.flush()
        return event.id


def ids(model: Any) -> set[Any]:
    """Every primary key left in `model`'s table."""
    with session_scope() as session:
        return set(session.scalars(select(model.id)))


def count(model: Any) -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)
