"""The recent history a model sees: newest messages first, as many as fit a token budget."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Conversation, ConversationMessage

#: Tokens a chat message costs beyond its text (role and separators), as OpenAI counts them.
MESSAGE_OVERHEAD_TOKENS = 4
#: Most messages ever read back for one turn, whatever the budget.
MAX_HISTORY_MESSAGES = 40


@dataclass(frozen=True)
class HistoryMessage:
    role: str
    content: str


def estimate_tokens(text: str) -> int:
    """A cheap, conservative token count: about four characters per token in English."""
    return math.ceil(len(text) / 4) + MESSAGE_OVERHEAD_TOKENS


def fit_to_budget(messages: list[HistoryMessage], budget: int) -> list[HistoryMessage]:
    """The newest messages whose estimated tokens fit `budget`, oldest first.

    Trimming stops at the first message that does not fit, so the history stays contiguous.
    """
    kept: list[HistoryMessage] = []
    used = 0
    for message in reversed(messages):
        cost = estimate_tokens(message.content)
        if used + cost > budget:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    return kept


def conversation_with_recent_messages(
    session: Session, conversation_id: str
) -> tuple[Conversation | None, list[HistoryMessage]]:
    """A conversation and its last MAX_HISTORY_MESSAGES messages (oldest first), one query.

    A chat turn needs both before it can ask the model; the outer join makes a conversation
    without messages one row with none. Callers check ownership before using either.
    """
    rows = session.execute(
        select(Conversation, ConversationMessage.role, ConversationMessage.content)
        .outerjoin(ConversationMessage, ConversationMessage.conversation_id == Conversation.id)
        .where(Conversation.id == conversation_id)
        .order_by(ConversationMessage.id.desc())
        .limit(MAX_HISTORY_MESSAGES)
    ).all()
    if not rows:
        return None, []
    messages = [
        HistoryMessage(role=role, content=content)
        for _, role, content in reversed(rows)
        if role is not None
    ]
    return rows[0][0], messages
