"""The purge removes exactly the rows past their use, batch by batch, on every backend."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import purge_rows as rows
import pytest
from pydantic import ValidationError
from sqlalchemy import event, select

from shop.db import get_engine, session_scope
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
    ThrottleLock,
)
from shop.services.housekeeping import RetentionTooShort, purge
from shop.settings import Settings, get_settings

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def test_each_table_keeps_what_is_still_needed_and_loses_the_rest(db: str) -> None:
    user = rows.customer()
    rows.idempotency_key(user, NOW - 25 * HOUR)
    fresh_key = rows.idempotency_key(user, NOW - 23 * HOUR)
    rows.refresh_token(user, NOW - HOUR)
    rows.refresh_token(user, NOW - 2 * DAY)
    rows.refresh_token(user, NOW + DAY, used_at=NOW - DAY, revoked_at=NOW - HOUR)
    used_live = rows.refresh_token(user, NOW + DAY, used_at=NOW - DAY)
    live = rows.refresh_token(user, NOW + 20 * DAY)
    rows.login_failure(NOW - 25 * HOUR)
    recent_failure = rows.login_failure(NOW - 2 * HOUR)
    rows.rate_hit(NOW - 61 * timedelta(seconds=1))
    recent_hit = rows.rate_hit(NOW - 30 * timedelta(seconds=1))
    rows.throttle_lock(NOW - 25 * HOUR)
    recent_lock = rows.throttle_lock(NOW - 2 * HOUR)
    rows.conversation(NOW - 25 * HOUR)
    idle_chat = rows.conversation(NOW - 23 * HOUR)
    handed_over = rows.conversation(NOW - 30 * DAY, ticket=True)
    users_chat = rows.conversation(NOW - 300 * DAY, user_id=user)
    rows.behavior_event(NOW - 401 * DAY, user)
    kept_event = rows.behavior_event(NOW - 399 * DAY, user)
    rows.payment_event(NOW - 31 * DAY)
    recent_payment_event = rows.payment_event(NOW - 29 * DAY)
    rows.outbox_message(user, NOW - 91 * DAY)
    recent_message = rows.outbox_message(user, NOW - 89 * DAY)

    report = purge(get_engine(), NOW, batch_size=1)

    assert rows.ids(IdempotencyRecord) == {fresh_key}
    assert rows.ids(RefreshToken) == {used_live, live}
    assert rows.ids(LoginFailure) == {recent_failure}
    assert rows.ids(SupportRateHit) == {recent_hit}
    with session_scope() as session:
        assert set(session.scalars(select(ThrottleLock.key))) == {recent_lock}
    assert rows.ids(Conversation) == {idle_chat, handed_over, users_chat}
    assert rows.count(ConversationMessage) == 6  # the gone chat's two messages went with it
    assert rows.ids(BehaviorEvent) == {kept_event}
    assert rows.ids(PaymentEvent) == {recent_payment_event}
    assert rows.ids(OutboxMessage) == {recent_message}
    assert report.complete
    assert report.purged == {
        "idempotency_records": 1,
        "refresh_tokens": 3,
        "login_failures": 1,
        "support_rate_hits": 1,
        "throttle_locks": 1,
        "support_conversations": 1,
        "behavior_events": 1,
        "payment_events": 1,
        "outbox_messages": 1,
    }


def test_old_outbox_messages_go_once_handled_and_unsent_ones_stay(db: str) -> None:
    user = rows.customer()
    for status in ("sent", "skipped", "failed"):
        rows.outbox_message(user, NOW - 91 * DAY, status)
    kept = {
        rows.outbox_message(user, NOW - 89 * DAY, "failed"),
        # owed to the customer however old: a delivery will still send it
        rows.outbox_message(user, NOW - 400 * DAY, "pending"),
        # written long ago but sent only last week: the admin still sees it
        rows.outbox_message(user, NOW - 120 * DAY, sent_at=NOW - 7 * DAY),
    }

    report = purge(get_engine(), NOW, batch_size=1)

    assert report.purged["outbox_messages"] == 3
    assert rows.ids(OutboxMessage) == kept


def test_outbox_messages_stay_as_long_as_the_campaign_cool_down_reads_them(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTBOX_RETENTION_DAYS", "10")
    monkeypatch.setenv("RETENTION_COOLDOWN_DAYS", "30")
    get_settings.cache_clear()
    user = rows.customer()
    rows.outbox_message(user, NOW - 31 * DAY)
    cooling_down = rows.outbox_message(user, NOW - 20 * DAY)
    try:
        purge(get_engine(), NOW)
        assert rows.ids(OutboxMessage) == {cooling_down}
        monkeypatch.setenv("RETENTION_COOLDOWN_DAYS", "0")
        get_settings.cache_clear()
        purge(get_engine(), NOW)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert rows.count(OutboxMessage) == 0


def test_many_rows_go_in_batches_of_one_short_transaction_each(db: str) -> None:
    user = rows.customer()
    for minute in range(25):
        rows.behavior_event(NOW - 500 * DAY + minute * timedelta(minutes=1), user)
    kept = rows.behavior_event(NOW - DAY, user)
    commits: list[int] = []
    engine = get_engine()

    def counted(_connection: object) -> None:
        commits.append(1)

    event.listen(engine, "commit", counted)
    try:
        report = purge(engine, NOW, batch_size=10)
    finally:
        event.remove(engine, "commit", counted)

    assert report.purged["behavior_events"] == 25
    assert rows.ids(BehaviorEvent) == {kept}
    # 10 + 10 + 5 rows of events, each batch committed on its own (plus the other tables'
    # empty look-ups, one each).
    assert len(commits) == 3 + 9


def test_a_purge_out_of_time_stops_between_batches_and_the_next_run_goes_on(db: str) -> None:
    for minute in range(5):
        rows.login_failure(NOW - 2 * DAY + minute * timedelta(minutes=1))

    stopped = purge(get_engine(), NOW, batch_size=2, deadline=time.monotonic())

    assert not stopped.complete
    assert rows.count(LoginFailure) == 5
    finished = purge(get_engine(), NOW, batch_size=2)
    assert finished.complete and finished.purged["login_failures"] == 5
    assert rows.count(LoginFailure) == 0


def test_failed_sign_ins_the_throttle_still_counts_are_never_purged(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGIN_FAILURE_RETENTION_HOURS", "1")
    monkeypatch.setenv("LOGIN_FAILURE_WINDOW_SECONDS", str(3 * 3600))
    get_settings.cache_clear()
    counted = rows.login_failure(NOW - 2 * HOUR)
    rows.login_failure(NOW - 4 * HOUR)
    try:
        purge(get_engine(), NOW)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert rows.ids(LoginFailure) == {counted}


def test_a_retention_shorter_than_the_models_look_back_is_refused(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEHAVIOR_EVENT_RETENTION_DAYS", "100")
    get_settings.cache_clear()
    event_id = rows.behavior_event(NOW - 150 * DAY)
    failure_id = rows.login_failure(NOW - 30 * DAY)
    try:
        with pytest.raises(RetentionTooShort, match=r"BEHAVIOR_EVENT_RETENTION_DAYS is 100.*211"):
            purge(get_engine(), NOW)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert rows.ids(BehaviorEvent) == {event_id}
    assert rows.ids(LoginFailure) == {failure_id}


def test_the_default_retention_covers_every_event_a_training_run_reads() -> None:
    from shop.ml.config import MlSettings
    from shop.ml.dataset import plan_cutoffs
    from shop.ml.features import WINDOWS
    from shop.ml.lookback import feature_lookback_days

    for horizon, cutoffs in ((30, 3), (7, 1), (90, 6), (365, 12)):
        plan = plan_cutoffs(NOW, horizon, cutoffs)
        oldest_read = min(plan.train) - timedelta(days=max(WINDOWS))
        assert oldest_read >= NOW - timedelta(days=feature_lookback_days(horizon, cutoffs))
    defaults = MlSettings()
    needed = feature_lookback_days(defaults.churn_horizon_days, defaults.train_cutoffs)
    assert Settings().behavior_event_retention_days > needed


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("HOUSEKEEPING_SCHEDULE", "sometimes", "HOUSEKEEPING_SCHEDULE must be 'HH:MM'"),
        ("HOUSEKEEPING_SCHEDULE", "25:00", "HOUSEKEEPING_SCHEDULE must be 'HH:MM'"),
        ("HOUSEKEEPING_SCHEDULE", "every:0", "HOUSEKEEPING_SCHEDULE must be 'HH:MM'"),
        ("HOUSEKEEPING_BATCH_SIZE", "10", "greater than or equal to 100"),
        ("BEHAVIOR_EVENT_RETENTION_DAYS", "0", "greater than or equal to 1"),
        ("IDEMPOTENCY_KEY_RETENTION_HOURS", "soon", "valid integer"),
        ("LOGIN_FAILURE_RETENTION_HOURS", "-1", "greater than or equal to 1"),
        ("OUTBOX_RETENTION_DAYS", "0", "greater than or equal to 1"),
    ],
)
def test_bad_housekeeping_settings_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError, match=re.escape(message)) as raised:
        Settings()

    assert name.lower() in str(raised.value)
