"""Customer support: chat conversations, their messages, hand-over tickets and chat throttling."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.coltypes import BigIntPK, UTCDateTime, utcnow
from shop.models.base import Base, TimestampMixin

#: Statuses a support ticket moves through; admins may set any of them.
TICKET_STATUSES: tuple[str, ...] = ("open", "in_progress", "resolved")


class Conversation(TimestampMixin, Base):
    """One support chat. `user_id` is its owner; NULL means anonymous.

    The id is random and unguessable (it is an anonymous visitor's only proof of ownership),
    so it is a string chosen by the service, never a sequence number.
    """

    __tablename__ = "support_conversations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(120), nullable=False, default="")

    messages: Mapped[list["ConversationMessage"]] = relationship(
        back_populates="conversation", order_by="ConversationMessage.id"
    )

    __table_args__ = (Index("ix_support_conversations_user_updated", "user_id", "updated_at"),)


class ConversationMessage(Base):
    """One message of a conversation, as shown to the customer (tool traffic is not stored)."""

    __tablename__ = "support_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("support_conversations.id", ondelete="CASCADE"), nullable=False
    )
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str | None] = mapped_column(String(100))
    tools_used: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant')", name="role_valid"),
        Index("ix_support_messages_conversation_id", "conversation_id", "id"),
    )


class SupportTicket(TimestampMixin, Base):
    """A hand-over to a human, opened by the assistant for the conversation's owner."""

    __tablename__ = "support_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("support_conversations.id"), nullable=False, index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="open")
    resolution_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'resolved')", name="status_valid"),
        Index("ix_support_tickets_status_created", "status", "created_at"),
    )


class SupportRateHit(Base):
    """One chat request counted against a bucket (a user or a client address)."""

    __tablename__ = "support_rate_hits"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(80), nullable=False)
    hit_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (Index("ix_support_rate_hits_bucket_hit_at", "bucket", "hit_at"),)
