"""`shopfn serve` prints new outbox messages on its console, each once, old ones never."""

from __future__ import annotations

import logging
import time
import uuid

import pytest

from shop.db import session_scope
from shop.models import User
from shop.services import outbox
from shopfn.console import ConsoleFormatter
from shopfn.outbox_watch import SHOWN, OutboxWatcher


def customer() -> tuple[int, str]:
    email = f"o-{uuid.uuid4().hex[:10]}@example.com"
    with session_scope() as session:
        user = User(email=email, full_name="Olive Outbox", password_hash="not-a-hash")
        session.add(user)
        session.flush()
        return user.id, email


def write(user_id: int, *subjects: str) -> None:
    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        for subject in subjects:
            outbox.queue_message(session, user, subject, "Use the code COMEBACK-TEST.")


def console_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    formatter = ConsoleFormatter(color=False)
    return [formatter.format(r) for r in caplog.records if r.name == "shopfn.outbox"]


def test_new_messages_are_printed_once_and_earlier_ones_not_at_all(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shopfn.outbox")
    user_id, email = customer()
    write(user_id, "Written before serve started")
    watcher = OutboxWatcher()
    assert watcher.poll() == 0

    write(user_id, "10% off your next order, just for you")
    assert watcher.poll() == 1
    assert watcher.poll() == 0
    (line,) = console_lines(caplog)
    assert " outbox: #" in line and f"to {email}  [pending]" in line
    assert line.endswith("\n  10% off your next order, just for you")
    assert "before serve" not in caplog.text


def test_a_big_run_shows_its_first_messages_and_counts_the_rest(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shopfn.outbox")
    user_id, _ = customer()
    watcher = OutboxWatcher()
    write(user_id, *(f"Offer {n}" for n in range(SHOWN + 40)))
    assert (watcher.poll(), watcher.poll()) == (SHOWN + 40, 0)
    lines = console_lines(caplog)
    subjects = [line.rsplit("\n  ", 1)[1] for line in lines[:-1]]
    assert subjects == [f"Offer {n}" for n in range(SHOWN)]
    assert lines[-1].endswith("...and 40 more new messages: `shopfn outbox` lists them all.")
    write(user_id, "Offer after the run")
    assert watcher.poll() == 1
    assert console_lines(caplog)[-1].endswith("Offer after the run")


def test_the_serve_thread_prints_a_message_within_its_interval(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="shopfn.outbox")
    user_id, email = customer()
    watcher = OutboxWatcher(interval=0.05)
    watcher.start()
    try:
        write(user_id, "Welcome back")
        deadline = time.monotonic() + 10
        while not console_lines(caplog) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop()
        watcher.join(5)
    assert not watcher.is_alive()
    (line,) = console_lines(caplog)
    assert f"to {email}" in line and line.endswith("\n  Welcome back")


def test_an_outbox_it_cannot_read_is_reported_once_not_every_look(
    db: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="shopfn.outbox")
    watcher = OutboxWatcher(interval=0.01)
    looks: list[int] = []

    def unreadable() -> int:
        looks.append(1)
        if len(looks) <= 20:
            raise TimeoutError("the database is busy")
        if len(looks) == 25:
            watcher.stop()
        return 0

    monkeypatch.setattr(watcher, "poll", unreadable)
    watcher.start()
    watcher.join(10)
    assert not watcher.is_alive() and len(looks) == 25
    assert [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "shopfn.outbox"] == [
        (
            logging.ERROR,
            "could not read the outbox (TimeoutError: the database is busy); trying again "
            "every few seconds",
        ),
        (logging.INFO, "reading the outbox again"),
    ]
