"""Request and response bodies of the retrain function."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shop.http.schemas import RequestBody, Response


class RetrainIn(RequestBody):
    """No options yet: `{}` starts a run with the configured horizon and cutoffs."""


class QueuedOut(Response):
    run_id: int
    status: Literal["queued"]


class RunOut(Response):
    run_id: int
    trigger: Literal["schedule", "manual"]
    status: Literal["queued", "running", "succeeded", "failed", "skipped"]
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    metrics: dict[str, Any]
    promoted: bool
    reason: str | None


class ScheduleOut(Response):
    """When the models retrain by themselves, and what else starts a run."""

    description: str = Field(
        description="Completes 'Models retrain ...', e.g. 'every night at 03:00 UTC'",
        examples=["every night at 03:00 UTC"],
    )
    runs_on: str = Field(
        description="What fires it: 'local scheduler' or 'EventBridge rule <name>'",
        examples=["local scheduler"],
    )
    platform: Literal["local", "aws"]
    expression: str = Field(
        description="As set: RETRAIN_SCHEDULE locally, the rule's expression in AWS",
        examples=["03:00", "cron(0 3 * * ? *)"],
    )
    next_run_at: datetime | None = Field(
        description="The next automatic run (UTC), when it can be known"
    )
    triggers: list[str] = Field(
        description="Every way a run can start, as run history names it",
        examples=[["schedule", "manual"]],
    )
