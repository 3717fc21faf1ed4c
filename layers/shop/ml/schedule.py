"""When the models retrain by themselves, in words: the local scheduler or the EventBridge rule.

Read from the settings, so the dashboard says what is true where it runs: RETRAIN_SCHEDULE
on a laptop (`shopfn serve`'s scheduler thread), the rule's expression in AWS (CDK sets
RETRAIN_RULE_EXPRESSION and RETRAIN_RULE_NAME on the retrain function).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from shop.ml.config import MlSettings
from shop.models.ml import RUN_TRIGGERS

_DAILY_CRON = re.compile(r"^cron\((\d{1,2}) (\d{1,2}) [*?] \* [*?] \*\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_NIGHT_HOURS = {*range(0, 6), *range(21, 24)}


def next_local_fire(schedule: str, now: datetime) -> datetime | None:
    """When RETRAIN_SCHEDULE fires next after `now` (None for `off`); ValueError if malformed."""
    spec = schedule.strip().lower()
    if spec in ("off", "none", ""):
        return None
    if spec.startswith("every:"):
        seconds = float(spec.split(":", 1)[1])
        if seconds <= 0:
            raise ValueError("every:SECONDS needs a positive number")
        return now + timedelta(seconds=seconds)
    hour, _, minute = spec.partition(":")
    return _next_daily(int(hour), int(minute or 0), now)


def _next_daily(hour: int, minute: int, now: datetime) -> datetime:
    at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return at if at > now else at + timedelta(days=1)


def _daily(hour: int, minute: int) -> str:
    when = "every night" if hour in _NIGHT_HOURS else "every day"
    return f"{when} at {hour:02d}:{minute:02d} UTC"


def _every(seconds: float) -> str:
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"every {unit}" if count == 1 else f"every {count} {unit}s"
    return f"every {seconds:g} seconds"


def _local(schedule: str, now: datetime) -> tuple[str, datetime | None]:
    spec = schedule.strip().lower()
    if spec in ("off", "none", ""):
        return "only when started by hand (RETRAIN_SCHEDULE is off)", None
    if spec.startswith("every:"):
        # The interval counts from when `shopfn serve` started, which this process cannot see.
        return _every(float(spec.split(":", 1)[1])), None
    hour, _, minute = spec.partition(":")
    return _daily(int(hour), int(minute or 0)), next_local_fire(spec, now)


def _eventbridge(expression: str, now: datetime) -> tuple[str, datetime | None]:
    spec = expression.strip()
    daily = _DAILY_CRON.match(spec)
    if daily:
        minute, hour = int(daily.group(1)), int(daily.group(2))
        return _daily(hour, minute), _next_daily(hour, minute, now)
    rate = _RATE.match(spec)
    if rate:
        size = {"minute": 60, "hour": 3600, "day": 86400}[rate.group(2).rstrip("s")]
        return _every(int(rate.group(1)) * size), None
    return f"on the schedule {spec}", None


def describe_schedule(settings: MlSettings, now: datetime) -> dict[str, Any]:
    """The automatic retraining schedule in plain words, where it runs, and every run trigger.

    `description` completes the sentence "Models retrain ...".
    """
    expression = settings.retrain_rule_expression
    if expression:
        rule = settings.retrain_rule_name
        runs_on, platform = (f"EventBridge rule {rule}" if rule else "EventBridge rule"), "aws"
        description, next_run = _eventbridge(expression, now)
    else:
        expression = settings.retrain_schedule
        runs_on, platform = "local scheduler", "local"
        description, next_run = _local(expression, now)
    return {
        "description": description,
        "runs_on": runs_on,
        "platform": platform,
        "expression": expression,
        "next_run_at": next_run,
        "triggers": list(RUN_TRIGGERS),
    }
