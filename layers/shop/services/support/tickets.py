"""Hand-overs to a human: tickets the assistant opens and admins work through."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import NotFound
from shop.models import SupportTicket
from shop.pagination import PageRequest, PageResult, paginate


def open_ticket(
    session: Session, *, conversation_id: str, user_id: int | None, summary: str
) -> SupportTicket:
    """A ticket for the conversation (flushed, in the caller's transaction).

    A conversation has at most one unresolved ticket: asking again returns that one, so a
    looping or manipulated model cannot flood the support queue.
    """
    existing = session.scalar(
        select(SupportTicket).where(
            SupportTicket.conversation_id == conversation_id,
            SupportTicket.status != "resolved",
        )
    )
    if existing is not None:
        return existing
    ticket = SupportTicket(
        conversation_id=conversation_id, user_id=user_id, summary=summary, status="open"
    )
    session.add(ticket)
    session.flush()
    return ticket


def list_tickets(
    session: Session, page: PageRequest, *, status: str | None = None
) -> PageResult[SupportTicket]:
    """A page of tickets, newest first, optionally of one status (admins)."""
    query = select(SupportTicket).order_by(SupportTicket.created_at.desc(), SupportTicket.id.desc())
    if status is not None:
        query = query.where(SupportTicket.status == status)
    return paginate(session, query, page)


def get_ticket(session: Session, ticket_id: int) -> SupportTicket:
    """The ticket, or NotFound."""
    ticket = session.get(SupportTicket, ticket_id)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


def update_ticket(
    session: Session, ticket_id: int, *, status: str | None, resolution_note: str | None
) -> SupportTicket:
    """The ticket after an admin moved it or added a note."""
    ticket = get_ticket(session, ticket_id)
    if status is not None:
        ticket.status = status
    if resolution_note is not None:
        ticket.resolution_note = resolution_note
    session.commit()
    return ticket
