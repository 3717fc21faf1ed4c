"""Conversations and their messages, and who may read or continue them.

A conversation belongs to the user who started it, or to nobody (anonymous). Anonymous ones
are reachable only through their random id, which works as a capability: it is never listed,
it expires after a quiet period, and a signed-in caller cannot use it (nor an anonymous caller
a signed-in user's), so signing in or out always starts a fresh conversation.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import NotFound
from shop.models import Conversation, ConversationMessage
from shop.pagination import PageRequest, PageResult, paginate
from shop.services.support.history import HistoryMessage, conversation_with_recent_messages
from shop.settings import get_settings
from shop.tokens import Principal

NOT_FOUND = "No such conversation."


def new_conversation_id() -> str:
    """A fresh, unguessable conversation id (192 random bits)."""
    return secrets.token_urlsafe(24)


def _title(first_message: str) -> str:
    line = " ".join(first_message.split())
    return line if len(line) <= 80 else line[:79] + "…"


def _anonymous_expired(conversation: Conversation) -> bool:
    ttl = timedelta(seconds=get_settings().support_anonymous_ttl_seconds)
    return conversation.user_id is None and conversation.updated_at < utcnow() - ttl


def open_for_chat(
    session: Session, conversation_id: str | None, principal: Principal | None, message: str
) -> tuple[Conversation, list[HistoryMessage]]:
    """The conversation this chat turn continues, or a new one (flushed, not committed), with
    its recent messages (oldest first; none for a new one).

    Continuing needs the same owner: the same user, or anonymous for anonymous. Anything else,
    like an expired anonymous conversation, is NotFound, so ids reveal nothing.
    """
    if conversation_id is None:
        conversation = Conversation(
            id=new_conversation_id(),
            user_id=principal.user_id if principal else None,
            title=_title(message),
        )
        session.add(conversation)
        session.flush()
        return conversation, []
    found, recent = conversation_with_recent_messages(session, conversation_id)
    owner = principal.user_id if principal else None
    if found is None or found.user_id != owner or _anonymous_expired(found):
        raise NotFound(NOT_FOUND)
    return found, recent


def get_conversation(session: Session, conversation_id: str, principal: Principal) -> Conversation:
    """A conversation its signed-in owner (or an admin) may read; NotFound for anyone else."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(NOT_FOUND)
    if not principal.is_admin and conversation.user_id != principal.user_id:
        raise NotFound(NOT_FOUND)
    return conversation


def list_conversations(
    session: Session, principal: Principal, page: PageRequest
) -> PageResult[Conversation]:
    """A page of the caller's own conversations, most recently active first."""
    query = (
        select(Conversation)
        .where(Conversation.user_id == principal.user_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id)
    )
    return paginate(session, query, page)


def messages_of(session: Session, conversation_id: str) -> list[ConversationMessage]:
    """Every message of a conversation, oldest first."""
    query = (
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation_id)
        .order_by(ConversationMessage.id)
    )
    return list(session.scalars(query))


def record_exchange(
    session: Session,
    conversation: Conversation,
    *,
    question: str,
    asked_at: datetime,
    reply: str,
    model: str,
    tools_used: list[str],
) -> None:
    """Add the customer's message and the assistant's reply (in the caller's transaction)."""
    session.add(
        ConversationMessage(
            conversation_id=conversation.id,
            role="user",
            content=question,
            model=None,  # the same columns as the reply: both rows go in one INSERT
            tools_used=[],
            created_at=asked_at,
        )
    )
    session.add(
        ConversationMessage(
            conversation_id=conversation.id,
            role="assistant",
            content=reply,
            model=model,
            tools_used=tools_used,
            created_at=max(utcnow(), asked_at),
        )
    )
    conversation.updated_at = utcnow()
