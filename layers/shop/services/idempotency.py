"""Idempotency keys: a retried request does its work once and gets the first result back.

A key is claimed in its own short, committed transaction before the work starts, so a
concurrent retry (another Lambda, another connection) sees the claim at once and gets 409
instead of waiting or doing the work twice. The work's own transaction marks the claim
completed together with its result; if the work fails, the claim is released so the client
can fix the problem (say, its cart) and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import Conflict, InvalidInput
from shop.logging import get_logger
from shop.models import IdempotencyRecord

#: A claim older than this is taken to belong to a request that died (Lambda timeout is 20 s).
STALE_AFTER = timedelta(seconds=60)


def request_hash(payload: Any) -> str:
    """A stable SHA-256 of a JSON-able request (key order does not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a key: new work to do (`record_id`) or a finished result."""

    record_id: int | None = None
    order_id: int | None = None

    @property
    def is_replay(self) -> bool:
        return self.record_id is None


def claim(session: Session, user_id: int, key: str, digest: str, *, scope: str) -> Claim:
    """Claim `key` for new work, or return the result of the request that already used it.

    422 when the key was used with a different request, 409 while that request still runs.
    Commits (or rolls back) the session: call it before the work's transaction starts.
    """
    for _attempt in range(3):
        record = IdempotencyRecord(user_id=user_id, scope=scope, key=key, request_hash=digest)
        session.add(record)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
        else:
            return Claim(record_id=record.id)
        existing = session.scalar(
            select(IdempotencyRecord)
            .where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
            )
            .execution_options(populate_existing=True)
        )
        session.commit()
        if existing is None:
            continue  # released between our insert and our read: claim it again
        if existing.request_hash != digest:
            raise InvalidInput(
                "This Idempotency-Key was already used with a different request; "
                "use a new key for a new request.",
                loc=["header", "Idempotency-Key"],
            )
        if existing.state == "completed":
            return Claim(order_id=existing.order_id)
        if _take_over_stale(session, existing):
            return Claim(record_id=existing.id)
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            extra={"retryable": True},
        )
    raise Conflict("This Idempotency-Key is busy; retry shortly.", extra={"retryable": True})


def _take_over_stale(session: Session, record: IdempotencyRecord) -> bool:
    """Claim a key whose request died mid-way (older than STALE_AFTER); False if it is alive."""
    now = utcnow()
    if now - record.locked_at < STALE_AFTER:
        return False
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record.id,
            IdempotencyRecord.state == "in_progress",
            IdempotencyRecord.locked_at == record.locked_at,
        )
        .values(locked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def complete(session: Session, record_id: int, *, order_id: int, status: int) -> None:
    """Mark the claim done with its result, inside the work's own transaction."""
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(state="completed", order_id=order_id, response_status=status, completed_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def release(session: Session, record_id: int) -> None:
    """Drop a claim whose work failed, so the same key may be used again.

    Never raises: a claim that cannot be dropped now simply goes stale and is taken over.
    """
    try:
        session.rollback()
        session.execute(
            delete(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.state == "in_progress")
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except Exception:
        session.rollback()
        get_logger().warning("idempotency claim not released", extra={"record_id": record_id})
