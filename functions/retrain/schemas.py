"""Request and response bodies of the retrain function."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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
