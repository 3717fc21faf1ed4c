"""Request and response bodies of the support function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shop.http.schemas import RequestBody, Response, SafeStr

#: Conversation ids are random URL-safe strings minted by the service.
ConversationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")]
TicketStatus = Literal["open", "in_progress", "resolved"]


class ChatIn(RequestBody):
    message: Annotated[SafeStr, Field(min_length=1, max_length=2000)]
    conversation_id: ConversationId | None = None


class ChatOut(Response):
    conversation_id: str
    reply: str
    model: str
    tools_used: list[str]


class ConversationSummaryOut(Response):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class MessageOut(Response):
    role: str
    content: str
    created_at: datetime


class ConversationOut(Response):
    id: str
    title: str
    user_id: int | None
    created_at: datetime
    updated_at: datetime
    messages: list[MessageOut]


class TicketOut(Response):
    id: int
    conversation_id: str
    user_id: int | None
    summary: str
    status: TicketStatus
    resolution_note: str | None
    created_at: datetime
    updated_at: datetime


class TicketPatch(RequestBody):
    status: TicketStatus | None = None
    resolution_note: Annotated[SafeStr | None, Field(max_length=2000)] = None
