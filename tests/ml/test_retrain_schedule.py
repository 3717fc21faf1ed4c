"""GET /ml/retrain/schedule says when models retrain by themselves, from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support import LambdaClient, make_admin, sign_up

NOW = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)


@pytest.fixture
def ml_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment changes the ML settings see; the cached settings are read afresh."""
    from shop.ml.config import get_ml_settings

    for name in ("RETRAIN_SCHEDULE", "RETRAIN_RULE_EXPRESSION", "RETRAIN_RULE_NAME"):
        monkeypatch.delenv(name, raising=False)
    get_ml_settings.cache_clear()
    yield monkeypatch
    get_ml_settings.cache_clear()


def _describe(**env: str) -> dict:
    from shop.ml.config import MlSettings
    from shop.ml.schedule import describe_schedule

    return describe_schedule(MlSettings(**env), NOW)


@pytest.mark.parametrize(
    ("setting", "description", "next_run"),
    [
        ("03:00", "every night at 03:00 UTC", datetime(2026, 3, 11, 3, 0, tzinfo=UTC)),
        ("16:45", "every day at 16:45 UTC", datetime(2026, 3, 10, 16, 45, tzinfo=UTC)),
        ("every:3600", "every hour", None),
        ("every:90", "every 90 seconds", None),
        ("every:600", "every 10 minutes", None),
        ("off", "only when started by hand (RETRAIN_SCHEDULE is off)", None),
    ],
)
def test_locally_the_schedule_is_retrain_schedule_run_by_the_local_scheduler(
    setting: str, description: str, next_run: datetime | None
) -> None:
    told = _describe(retrain_schedule=setting)
    assert told == {
        "description": description,
        "runs_on": "local scheduler",
        "platform": "local",
        "expression": setting,
        "next_run_at": next_run,
        "triggers": ["schedule", "manual", "new_data", "drift"],
    }


@pytest.mark.parametrize(
    ("expression", "description", "next_run"),
    [
        ("cron(0 3 * * ? *)", "every night at 03:00 UTC", datetime(2026, 3, 11, 3, tzinfo=UTC)),
        (
            "cron(30 15 ? * * *)",
            "every day at 15:30 UTC",
            datetime(2026, 3, 10, 15, 30, tzinfo=UTC),
        ),
        ("rate(1 day)", "every day", None),
        ("rate(6 hours)", "every 6 hours", None),
        ("cron(0 3 ? * MON *)", "on the schedule cron(0 3 ? * MON *)", None),
    ],
)
def test_in_aws_the_schedule_is_the_eventbridge_rule(
    expression: str, description: str, next_run: datetime | None
) -> None:
    told = _describe(
        retrain_schedule="03:00",  # ignored in AWS: the rule decides
        retrain_rule_expression=expression,
        retrain_rule_name="shopfn-prod-retrain-nightly",
    )
    assert told["description"] == description
    assert told["next_run_at"] == next_run
    assert (told["platform"], told["expression"]) == ("aws", expression)
    assert told["runs_on"] == "EventBridge rule shopfn-prod-retrain-nightly"


def test_schedule_route_reads_the_settings_and_is_admin_only(
    client: LambdaClient, ml_settings: pytest.MonkeyPatch
) -> None:
    ml_settings.setenv("RETRAIN_SCHEDULE", "02:15")
    admin = make_admin(client)
    reply = client.get("/ml/retrain/schedule", token=admin.access_token)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert (body["description"], body["runs_on"]) == ("every night at 02:15 UTC", "local scheduler")
    assert body["next_run_at"].endswith(("T02:15:00Z", "T02:15:00+00:00"))
    assert body["triggers"] == ["schedule", "manual", "new_data", "drift"]

    ml_settings.setenv("RETRAIN_RULE_EXPRESSION", "cron(0 3 * * ? *)")
    ml_settings.setenv("RETRAIN_RULE_NAME", "shopfn-dev-retrain-nightly")
    from shop.ml.config import get_ml_settings

    get_ml_settings.cache_clear()
    body = client.get("/ml/retrain/schedule", token=admin.access_token).json()
    assert body["runs_on"] == "EventBridge rule shopfn-dev-retrain-nightly"
    assert body["description"] == "every night at 03:00 UTC"

    assert client.get("/ml/retrain/schedule", token=sign_up(client).access_token).status == 403
    assert client.get("/ml/retrain/schedule").status == 401
