"""The outbox: messages to customers are written with the change that causes them, sent later.

A message is a row first (in the same transaction as, say, a campaign's assignment), so it is
never lost and never sent for a change that rolled back. `deliver_pending` then sends each one
through Amazon SES (sesv2) when `SES_FROM_ADDRESS` is set, or keeps it in the local outbox
the admin reads (`GET /ml/campaigns/outbox`, `shopfn outbox`). A customer who opted out in
the meantime is skipped: the opt-out is checked at sending time, not only when it was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.logging import get_logger
from shop.models import OutboxMessage, User
from shop.pagination import PageRequest, PageResult, paginate
from shop.settings import get_settings

logger = get_logger()


class Sender(Protocol):
    channel: str

    def send(self, message: OutboxMessage) -> str | None:
        """Deliver the message; the provider's id for it (None when there is none)."""
        ...


class LocalOutbox:
    """No delivery: the message stays readable in the outbox (laptops, tests, no SES)."""

    channel = "local"

    def send(self, message: OutboxMessage) -> str | None:
        return None


class SesSender:
    """Amazon SES v2 `SendEmail` from the shop's verified identity."""

    channel = "ses"

    def __init__(self, from_address: str, configuration_set: str | None = None) -> None:
        import boto3  # imported here: only the run that sends pays for it

        self.from_address = from_address
        self.configuration_set = configuration_set
        self.client = boto3.client("sesv2", endpoint_url=get_settings().aws_endpoint_url)

    def send(self, message: OutboxMessage) -> str | None:
        request: dict[str, Any] = {
            "FromEmailAddress": self.from_address,
            "Destination": {"ToAddresses": [message.to_address]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}},
                }
            },
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        reply = self.client.send_email(**request)
        return str(reply.get("MessageId") or "") or None


def sender_from_settings() -> Sender:
    settings = get_settings()
    if settings.ses_from_address:
        return SesSender(settings.ses_from_address, settings.ses_configuration_set)
    return LocalOutbox()


def queue_message(
    session: Session, user: User, subject: str, body: str, *, campaign_id: int | None = None
) -> OutboxMessage:
    """A pending message to the user, added to the session (the caller commits)."""
    message = OutboxMessage(
        user_id=user.id,
        campaign_id=campaign_id,
        to_address=user.email,
        subject=subject[:200],
        body=body,
        status="pending",
    )
    session.add(message)
    return message


@dataclass(frozen=True)
class Delivery:
    sent: int
    skipped: int
    failed: int


def deliver_pending(
    session: Session, sender: Sender | None = None, *, limit: int = 500
) -> Delivery:
    """Send up to `limit` pending messages, oldest first; each outcome committed on its own.

    Opted-out or deactivated customers' messages are marked skipped, never sent. A failure is
    recorded with its reason (never retried blindly: a bounced address stays bounced).
    """
    sender = sender or sender_from_settings()
    rows = session.execute(
        select(OutboxMessage, User.marketing_opt_out, User.is_active)
        .join(User, User.id == OutboxMessage.user_id)
        .where(OutboxMessage.status == "pending")
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    for message, opted_out, active in rows:
        message.channel = sender.channel
        if opted_out or not active:
            message.status = "skipped"
            message.error = "the customer opted out of offers" if opted_out else "account closed"
        else:
            try:
                message.provider_id = sender.send(message)
                message.status, message.sent_at = "sent", utcnow()
            except Exception as exc:  # a provider error: keep the reason, never the stack
                logger.warning("outbox message %s not sent: %s", message.id, type(exc).__name__)
                message.status, message.error = "failed", f"{type(exc).__name__}: {exc}"[:300]
        counts[message.status] += 1
        session.commit()
    return Delivery(**counts)


def list_messages(
    session: Session,
    page: PageRequest,
    *,
    user_id: int | None = None,
    campaign_id: int | None = None,
    since: datetime | None = None,
) -> PageResult[OutboxMessage]:
    """A page of messages, newest first, for one customer or campaign if asked."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if user_id is not None:
        query = query.where(OutboxMessage.user_id == user_id)
    if campaign_id is not None:
        query = query.where(OutboxMessage.campaign_id == campaign_id)
    if since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    return paginate(session, query, page)
