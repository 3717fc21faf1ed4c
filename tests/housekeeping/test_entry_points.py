"""The purge runs by hand (`shopfn housekeeping`) and on the local schedule of `shopfn serve`."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import purge_rows as rows
import pytest
import time_machine

from shop.models import LoginFailure, SupportRateHit
from shop.settings import get_settings
from shopfn.cli import main
from shopfn.job_report import describe_housekeeping
from shopfn.scheduler import (
    HOUSEKEEPING_RULE_ARN,
    FunctionScheduler,
    start_housekeeping_scheduler,
)

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=True):
        yield


def test_shopfn_housekeeping_purges_and_says_what_it_removed(
    db: str, clock: None, capsys: pytest.CaptureFixture[str]
) -> None:
    rows.login_failure(NOW - timedelta(days=3))
    rows.login_failure(NOW - timedelta(days=2))
    kept = rows.login_failure(NOW - timedelta(hours=1))

    assert main(["housekeeping"]) == 0

    out = capsys.readouterr().out
    assert "removed 2 old rows" in out
    assert "        2  old failed sign-ins" in out
    assert rows.ids(LoginFailure) == {kept}
    counts = out.splitlines()[1:]
    assert len(counts) == 9 and not [line for line in counts if "_" in line], out  # no table names


def test_shopfn_housekeeping_json_and_bad_input(
    db: str, clock: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows.rate_hit(NOW - timedelta(minutes=5))

    assert main(["housekeeping", "--json", "--batch-size", "100"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["purged"]["support_rate_hits"] == 1 and report["complete"] is True
    assert rows.count(SupportRateHit) == 0

    with pytest.raises(SystemExit) as usage:
        main(["housekeeping", "--batch-size", "ten"])
    assert usage.value.code == 2
    assert "from 100 to 100000" in capsys.readouterr().err

    monkeypatch.setenv("BEHAVIOR_EVENT_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    try:
        assert main(["housekeeping"]) == 2
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert "set it to 211 or more" in capsys.readouterr().err


def test_the_local_schedule_runs_the_purge_through_the_users_function(
    db: str, clock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows.login_failure(NOW - timedelta(days=2))
    monkeypatch.setenv("HOUSEKEEPING_SCHEDULE", "every:0.05")
    get_settings.cache_clear()
    scheduler = start_housekeeping_scheduler()
    assert scheduler is not None
    try:
        deadline = time.monotonic() + 30
        while rows.count(LoginFailure) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
        scheduler.join(timeout=30)
        monkeypatch.undo()
        get_settings.cache_clear()

    assert rows.count(LoginFailure) == 0


def test_no_local_schedule_when_it_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOUSEKEEPING_SCHEDULE", "off")
    get_settings.cache_clear()
    try:
        assert start_housekeeping_scheduler() is None
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def console_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """What the scheduler printed: (level, words) per line."""
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "shopfn.scheduler"]


def test_the_scheduled_purge_prints_one_line_when_it_removed_rows_and_none_otherwise(
    db: str, clock: None, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = FunctionScheduler(
        "every:3600",
        function="users",
        rule_arn=HOUSEKEEPING_RULE_ARN,
        job="housekeeping",
        describe=describe_housekeeping,
    )
    caplog.set_level(logging.INFO, logger="shopfn.scheduler")
    scheduler.fire()
    assert console_lines(caplog) == []  # nothing to remove: a quiet console

    rows.login_failure(NOW - timedelta(days=3))
    rows.login_failure(NOW - timedelta(days=2))
    rows.payment_event(NOW - timedelta(days=40))
    scheduler.fire()
    assert console_lines(caplog) == [
        (
            logging.INFO,
            "Housekeeping removed 3 old rows (old failed sign-ins: 2, payment events handled "
            "long ago: 1).",
        )
    ]
