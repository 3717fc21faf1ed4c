"""A simulated month of traffic, with the scheduled purge every night, leaves every table bounded.

The clock is a fixed instant moved by time-machine, never the wall clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import purge_rows as rows
import pytest
import time_machine
from shopping import add_to_cart, checkout, new_product
from sqlalchemy import func, select
from support import Account, LambdaClient, make_admin, sign_up

from shop.db import session_scope
from shop.models import (
    BehaviorEvent,
    Conversation,
    ConversationMessage,
    IdempotencyRecord,
    LoginFailure,
    RefreshToken,
    SupportRateHit,
    ThrottleLock,
)
from shopfn.gateway import invoke
from shopfn.manifest import load_manifest
from shopfn.scheduler import HOUSEKEEPING_RULE_ARN, scheduled_event

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAYS = 30
TOKEN_TTL = timedelta(days=2)


def nightly_purge(now: datetime) -> dict[str, object]:
    """What EventBridge does at 03:00: the scheduled event into the users function."""
    return invoke(load_manifest().get("users"), scheduled_event(now, HOUSEKEEPING_RULE_ARN))


def a_day_of_traffic(
    client: LambdaClient, shoppers: list[Account], product: int, day: int, made: Counter[str]
) -> None:
    """Sign-ins, token refreshes (one replayed) and a checkout per shopper, guessed sign-ins
    for unknown accounts, and anonymous chats from addresses never seen again."""
    for i, shopper in enumerate(shoppers):
        guess = {"email": f"nobody-{day}-{i}@example.com", "password": "123456"}
        assert client.post("/users/login", json=guess).status == 401  # never cleared by success
        made["login_failures"] += 1
        tokens = client.post(
            "/users/login", json={"email": shopper.email, "password": shopper.password}
        ).json()
        spent = tokens["refresh_token"]
        renewed = client.post("/users/refresh", json={"refresh_token": spent})
        assert renewed.status == 200
        made["refresh_tokens"] += 2
        if i == 0:  # a leaked token shows up again: the whole sign-in is revoked
            assert client.post("/users/refresh", json={"refresh_token": spent}).status == 401
        shopper.access_token = renewed.json()["access_token"]
        assert add_to_cart(client, shopper, product).status == 201
        assert checkout(client, shopper).status == 201
        made["idempotency_records"] += 1
    for visitor in range(2):
        address = f"203.0.113.{day * 2 + visitor}"
        question = {"message": "Do you ship abroad?"}
        assert client.post("/support/chat", json=question, source_ip=address).status == 200
        made["support_conversations"] += 1
        made["support_rate_hits"] += 1


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_a_month_of_traffic_leaves_every_table_bounded(
    client: LambdaClient, clock: time_machine.Coordinates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFRESH_TOKEN_TTL_SECONDS", str(int(TOKEN_TTL.total_seconds())))
    from shop.settings import get_settings

    get_settings.cache_clear()
    admin = make_admin(client)
    product = new_product(client, admin, stock=1000)
    shoppers = [sign_up(client), sign_up(client)]
    for days_ago in (500, 450, 420):  # events older than BEHAVIOR_EVENT_RETENTION_DAYS (400)
        rows.behavior_event(START - timedelta(days=days_ago), shoppers[0].id)
    made: Counter[str] = Counter()
    reports = []

    for day in range(1, DAYS + 1):
        midnight = START.replace(hour=0) + timedelta(days=day)
        clock.move_to(midnight + timedelta(hours=3))
        last_purge = midnight + timedelta(hours=3)
        reports.append(nightly_purge(last_purge))
        clock.move_to(midnight + timedelta(hours=9))
        a_day_of_traffic(client, shoppers, product, day, made)
    get_settings.cache_clear()

    # One day of traffic is made after the last purge; each table keeps at most its
    # retention's worth on top of that, whatever the length of the simulation.
    daily = {name: count / DAYS for name, count in made.items()}
    assert rows.count(IdempotencyRecord) <= 2 * daily["idempotency_records"]  # 24 h retention
    assert rows.count(LoginFailure) <= 2 * daily["login_failures"]  # 24 h retention
    assert rows.count(SupportRateHit) <= daily["support_rate_hits"]  # 60 s window
    assert rows.count(Conversation) <= 2 * daily["support_conversations"]  # 24 h idle
    assert rows.count(ConversationMessage) <= 2 * rows.count(Conversation)
    # Used tokens stay until they expire (replays are caught): two days' worth, plus today.
    assert rows.count(RefreshToken) <= 3 * daily["refresh_tokens"] + 2  # + the admin's two
    assert all(report["complete"] for report in reports)
    # A throttle key's lock row outlives its last use by the sign-in retention (24 h) at most.
    with session_scope() as session:
        oldest_lock = session.scalar(select(func.min(ThrottleLock.touched_at)))
    assert oldest_lock is not None and oldest_lock >= last_purge - timedelta(hours=24)
    purged = Counter()
    for report in reports:
        purged.update(report["purged"])  # type: ignore[arg-type]
    assert purged["behavior_events"] == 3  # only the three older than the retention
    assert purged["idempotency_records"] >= made["idempotency_records"] - 2 * 2
    assert purged["support_conversations"] >= made["support_conversations"] - 2 * 2
    # The events of the month itself are all kept: the models read months back.
    assert rows.count(BehaviorEvent) >= DAYS * len(shoppers) * 3
