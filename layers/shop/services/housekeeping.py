"""Housekeeping: purge rows that only matter for a while, so no table grows forever.

Each rule names a table and which of its rows are past use. The purge walks a table by
primary key: a batch finds the key of the n-th oldest expired row and deletes the expired
rows up to it, in its own short transaction. A delete thus never holds locks for long, only
touches old key ranges (new rows get higher keys, so inserts are never blocked), and is plain
SQL that SQLite, PostgreSQL and MariaDB all run. A purge stopped by its time budget (the
scheduled Lambda's timeout) simply continues on its next run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, delete, exists, func, or_, select
from sqlalchemy.engine import Connection, Engine

from shop.coltypes import utcnow
from shop.logging import get_logger
from shop.ml.config import get_ml_settings
from shop.ml.lookback import feature_lookback_days
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
)
from shop.settings import Settings, get_settings

#: Seconds of the scheduled invocation kept free after the last batch (logging, returning).
SCHEDULED_SAFETY_SECONDS = 3.0


class RetentionTooShort(ValueError):
    """A retention setting would delete rows that are still needed."""


@dataclass(frozen=True)
class Rule:
    """Rows of `table` that `expired` selects are purged; `children` rows referring to them
    (table, foreign-key column) go first, in the same transaction."""

    name: str
    table: Table
    expired: ColumnElement[bool]
    children: tuple[tuple[Table, Any], ...] = ()


@dataclass
class PurgeReport:
    """Rows purged per table; `complete` is False when the time budget ran out first."""

    purged: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.purged.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "purged": dict(self.purged),
            "total": self.total,
            "complete": self.complete,
            "seconds": round(self.seconds, 3),
        }


def behavior_cutoff(now: datetime, settings: Settings) -> datetime:
    """Events before this instant are purged; RetentionTooShort if the ML models need them."""
    ml = get_ml_settings()
    needed = feature_lookback_days(ml.churn_horizon_days, ml.train_cutoffs)
    kept = settings.behavior_event_retention_days
    if kept < needed:
        raise RetentionTooShort(
            f"BEHAVIOR_EVENT_RETENTION_DAYS is {kept}, but the churn and spend models read "
            f"{needed} days of events (CHURN_HORIZON_DAYS={ml.churn_horizon_days}, "
            f"TRAIN_CUTOFFS={ml.train_cutoffs}); set it to {needed} or more."
        )
    return now - timedelta(days=kept)


def purge_rules(now: datetime, settings: Settings | None = None) -> list[Rule]:
    """What is purged as of `now`, in the order the purge runs."""
    settings = settings or get_settings()
    hours = timedelta(hours=1)
    keys: Any = IdempotencyRecord.__table__
    tokens: Any = RefreshToken.__table__
    failures: Any = LoginFailure.__table__
    hits: Any = SupportRateHit.__table__
    chats: Any = Conversation.__table__
    messages: Any = ConversationMessage.__table__
    tickets: Any = SupportTicket.__table__
    events: Any = BehaviorEvent.__table__
    locks: Any = ThrottleLock.__table__
    handled: Any = PaymentEvent.__table__
    outbox: Any = OutboxMessage.__table__
    failures_kept = max(
        hours * settings.login_failure_retention_hours,
        timedelta(seconds=settings.login_failure_window_seconds),
    )
    anonymous_ttl = timedelta(seconds=settings.support_anonymous_ttl_seconds)
    # The campaigns' cool-down reads the messages of its window: they stay at least that long.
    outbox_kept = timedelta(
        days=max(settings.outbox_retention_days, settings.retention_cooldown_days)
    )
    return [
        # Past the retry window a key is forgotten: the same key then starts a new checkout.
        Rule(
            "idempotency_records",
            keys,
            keys.c.created_at < now - hours * settings.idempotency_key_retention_hours,
        ),
        # Expired tokens are refused anyway, and so are revoked ones (with the same answer).
        # A used token is kept until it expires: presenting it again is how a stolen token
        # is caught (its whole family is then revoked).
        Rule(
            "refresh_tokens",
            tokens,
            or_(tokens.c.expires_at <= now, tokens.c.revoked_at.is_not(None)),
        ),
        Rule("login_failures", failures, failures.c.failed_at < now - failures_kept),
        Rule(
            "support_rate_hits",
            hits,
            hits.c.hit_at <= now - timedelta(seconds=settings.support_rate_window_seconds),
        ),
        # A key's lock row only serialises requests counting against it; once nothing it
        # counts is left, it goes (the next request for the key creates it again). Its keys
        # are hashes, not ever-growing ids: on MariaDB a batch's range locks can hold up a
        # request for a key in that range until the batch commits (milliseconds).
        Rule(
            "throttle_locks",
            locks,
            locks.c.touched_at
            < now - max(failures_kept, timedelta(seconds=settings.support_rate_window_seconds)),
        ),
        # An anonymous chat past its idle time can't be continued by anyone. One handed over
        # to a human (a ticket) stays for the admins.
        Rule(
            "support_conversations",
            chats,
            and_(
                chats.c.user_id.is_(None),
                chats.c.updated_at < now - anonymous_ttl,
                ~exists().where(tickets.c.conversation_id == chats.c.id),
            ),
            children=((messages, messages.c.conversation_id),),
        ),
        Rule("behavior_events", events, events.c.occurred_at < behavior_cutoff(now, settings)),
        # A handled webhook event only guards against its redelivery, which Stripe stops
        # after three days; the retention (at least four) outlasts that.
        Rule(
            "payment_events",
            handled,
            handled.c.received_at < now - timedelta(days=settings.payment_event_retention_days),
        ),
        # A message that was sent, skipped (opted out) or failed (never retried) is history
        # the admin reads for a while. One still pending is owed to its customer: it stays
        # until a delivery sends it, however old.
        Rule(
            "outbox_messages",
            outbox,
            and_(
                outbox.c.status != "pending",
                outbox.c.created_at < now - outbox_kept,
                or_(outbox.c.sent_at.is_(None), outbox.c.sent_at < now - outbox_kept),
            ),
        ),
    ]


def purge(
    engine: Engine,
    now: datetime | None = None,
    *,
    batch_size: int | None = None,
    deadline: float | None = None,
    settings: Settings | None = None,
) -> PurgeReport:
    """Purge every rule's expired rows as of `now`, batch by batch.

    `deadline` (a `time.monotonic()` instant) stops the purge between batches; the report
    then says it is not complete, and the next run picks up where this one stopped.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    size = batch_size or settings.housekeeping_batch_size
    started = time.monotonic()
    report = PurgeReport()
    for rule in purge_rules(now, settings):
        purged, done = _purge_rule(engine, rule, size, deadline)
        report.purged[rule.name] = purged
        if not done:
            report.complete = False
            break
    report.seconds = time.monotonic() - started
    get_logger().info("housekeeping purge", extra=report.as_dict())
    return report


def purge_scheduled(engine: Engine, seconds_left: float) -> PurgeReport:
    """The scheduled purge, within the `seconds_left` of its invocation."""
    budget = max(1.0, seconds_left - SCHEDULED_SAFETY_SECONDS)
    return purge(engine, deadline=time.monotonic() + budget)


def _purge_rule(engine: Engine, rule: Rule, size: int, deadline: float | None) -> tuple[int, bool]:
    """(rows purged, finished) for one rule, one short transaction per batch."""
    key = _primary_key(rule.table)
    after: Any = None
    purged = 0
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            return purged, False
        with engine.begin() as connection:
            bound = _batch_bound(connection, rule, key, after, size)
            if bound is None:
                return purged, True
            purged += _delete_range(connection, rule, key, after, bound)
        after = bound


def _primary_key(table: Table) -> Any:
    (column,) = table.primary_key.columns
    return column


def _in_range(rule: Rule, key: Any, after: Any, bound: Any = None) -> ColumnElement[bool]:
    conditions = [rule.expired]
    if after is not None:
        conditions.append(key > after)
    if bound is not None:
        conditions.append(key <= bound)
    return and_(*conditions)


def _batch_bound(connection: Connection, rule: Rule, key: Any, after: Any, size: int) -> Any:
    """The key of the `size`-th expired row past `after` (or of the last one); None if none."""
    batch = (
        select(key.label("k")).where(_in_range(rule, key, after)).order_by(key).limit(size)
    ).subquery("batch")
    return connection.scalar(select(func.max(batch.c.k)))


def _delete_range(connection: Connection, rule: Rule, key: Any, after: Any, bound: Any) -> int:
    """Delete the expired rows with keys in (after, bound], and the rows that refer to them."""
    in_range = _in_range(rule, key, after, bound)
    for child, foreign_key in rule.children:
        connection.execute(delete(child).where(foreign_key.in_(select(key).where(in_range))))
    result = connection.execute(delete(rule.table).where(in_range))
    return int(result.rowcount)
