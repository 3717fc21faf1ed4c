"""Routes of the support function: the chat, the caller's conversations, tickets for admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from shop.coldstart import first_use
from shop.http.deps import (
    AdminUser,
    CurrentUser,
    IdPath,
    OptionalUser,
    PageDep,
    SessionDep,
    client_address,
)
from shop.http.schemas import Page
from shop.services.support.deadline import Deadline
from shop.settings import get_settings

from .schemas import (
    ChatIn,
    ChatOut,
    ConversationOut,
    ConversationSummaryOut,
    TicketOut,
    TicketPatch,
    TicketStatus,
)

# The conversation and ticket services (with SQLAlchemy's ORM and their models) are imported by
# the routes that call them, so a health check's cold start loads none of them.
router = APIRouter(tags=["support"])

ConversationPath = Annotated[str, Path(min_length=1, max_length=64)]


def _turn_deadline(request: Request) -> Deadline:
    context = request.scope.get("aws.context")
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return Deadline.for_request(
        get_settings().support_deadline_seconds, remaining() if callable(remaining) else None
    )


@router.post("/chat", response_model=ChatOut)
# async: a hot path, so it runs inline instead of on a worker thread (see shop.http.deps);
# Mangum runs each event to completion on its own loop: blocking holds up no other request
async def chat(body: ChatIn, request: Request, principal: OptionalUser, session: SessionDep) -> Any:
    """Ask the support assistant; signed-in customers get answers about their own orders."""
    with first_use("shop.services.support.chat"):  # the assistant: tools, prompts, OpenAI
        from shop.services.support.chat import answer_chat

    return answer_chat(
        session,
        principal=principal,
        message=body.message,
        conversation_id=body.conversation_id,
        client_address=client_address(request),
        deadline=_turn_deadline(request),
    )


@router.get("/conversations", response_model=Page[ConversationSummaryOut])
def list_conversations(principal: CurrentUser, session: SessionDep, page: PageDep) -> Any:
    """The caller's conversations, most recently active first."""
    from shop.services.support import conversations

    return conversations.list_conversations(session, principal, page)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(
    conversation_id: ConversationPath, principal: CurrentUser, session: SessionDep
) -> Any:
    """One conversation with its messages (its owner, or an admin)."""
    from shop.services.support import conversations

    conversation = conversations.get_conversation(session, conversation_id, principal)
    return {
        "id": conversation.id,
        "title": conversation.title,
        "user_id": conversation.user_id,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "messages": conversations.messages_of(session, conversation.id),
    }


@router.get("/tickets", response_model=Page[TicketOut])
def list_tickets(
    _admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    status: Annotated[TicketStatus | None, Query()] = None,
) -> Any:
    """Hand-over tickets, newest first (admins only)."""
    from shop.services.support import tickets

    return tickets.list_tickets(session, page, status=status)


@router.get("/tickets/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: IdPath, _admin: AdminUser, session: SessionDep) -> Any:
    """One ticket (admins only)."""
    from shop.services.support import tickets

    return tickets.get_ticket(session, ticket_id)


@router.patch("/tickets/{ticket_id}", response_model=TicketOut)
def update_ticket(
    ticket_id: IdPath, body: TicketPatch, _admin: AdminUser, session: SessionDep
) -> Any:
    """Move a ticket (open, in_progress, resolved) or note how it was resolved (admins only)."""
    from shop.services.support import tickets

    return tickets.update_ticket(
        session, ticket_id, status=body.status, resolution_note=body.resolution_note
    )
