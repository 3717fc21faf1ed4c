"""Request and response bodies of the retrain function."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from shop.http.schemas import RequestBody, Response

#: Why a run started: the nightly schedule, an admin, or the check (new data, drift).
Trigger = Literal["schedule", "manual", "new_data", "drift"]


class RetrainIn(RequestBody):
    """`{}` starts a run with the configured horizon and cutoffs.

    A request can only start a manual run; the other triggers are recorded by the schedule
    and the check, so any other `trigger` is refused.
    """

    trigger: Literal["manual"] = "manual"


class QueuedOut(Response):
    run_id: int
    status: Literal["queued"]


class RunOut(Response):
    run_id: int
    trigger: Trigger
    status: Literal["queued", "running", "succeeded", "failed", "skipped"]
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    metrics: dict[str, Any]
    promoted: bool
    reason: str | None


class CheckIn(RequestBody):
    """Thresholds for this check only; an omitted one is the configured value."""

    new_data_share: float | None = Field(
        default=None,
        gt=0,
        le=10,
        description="queue a run when new orders or events exceed this share of the last run's",
    )
    drift_psi: float | None = Field(
        default=None, gt=0, le=10, description="queue a run when a feature's PSI exceeds this"
    )


class CheckOut(Response):
    """What the check saw and whether it queued a run."""

    checked_at: datetime
    trigger: Literal["new_data", "drift"] | None
    run_id: int | None
    reason: str
    baseline_run_id: int | None = None
    data_until: datetime | None = None
    orders: int | None = None
    new_orders: int | None = None
    orders_share: float | None = None
    events: int | None = None
    new_events: int | None = None
    events_share: float | None = None
    drift_psi: float | None = None
    drift_feature: str | None = None
    sampled_users: int | None = None
    drift_note: str | None = None
    new_data_share_threshold: float
    drift_psi_threshold: float


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
        examples=[["schedule", "manual", "new_data", "drift"]],
    )
