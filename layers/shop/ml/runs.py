"""Training-run bookkeeping: one active run at a time, and never a run stuck in `running`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import Conflict, NotFound
from shop.models import TrainingRun
from shop.pagination import PageRequest, PageResult, paginate

ACTIVE = "active"
#: A run still active after this long lost its worker (a Lambda times out after 15 minutes).
STALE_AFTER = timedelta(minutes=30)
#: The same for a run handed to the ECS task, which has no time limit of its own.
ECS_STALE_AFTER = timedelta(hours=12)
#: The `reason` of an active run handed to the ECS task (replaced when the run finishes).
ON_ECS = "handed to the ECS task"


class RunAlreadyActive(Conflict):
    """Another run is queued or running."""


def _release_stale(session: Session) -> None:
    now = utcnow()
    on_ecs = and_(TrainingRun.reason.is_not(None), TrainingRun.reason == ON_ECS)
    stale = or_(
        and_(TrainingRun.queued_at < now - STALE_AFTER, ~on_ecs),
        TrainingRun.queued_at < now - ECS_STALE_AFTER,
    )
    session.execute(
        update(TrainingRun)
        .where(TrainingRun.active_slot == ACTIVE, stale)
        .values(
            status="failed",
            active_slot=None,
            finished_at=utcnow(),
            reason="abandoned: the worker stopped without reporting (timeout or crash)",
        )
    )


def queue_run(session: Session, trigger: str) -> TrainingRun:
    """A new queued run holding the single active slot; RunAlreadyActive if it is taken."""
    _release_stale(session)
    session.commit()
    run = TrainingRun(trigger=trigger, status="queued", active_slot=ACTIVE, metrics={})
    session.add(run)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        active = session.scalar(select(TrainingRun.id).where(TrainingRun.active_slot == ACTIVE))
        raise RunAlreadyActive(
            "A training run is already queued or running.", extra={"active_run_id": active}
        ) from exc
    return run


def record_skipped(session: Session, trigger: str, reason: str) -> TrainingRun:
    """A run that did not train, kept so the schedule's history shows why."""
    now = utcnow()
    run = TrainingRun(
        trigger=trigger,
        status="skipped",
        queued_at=now,
        started_at=now,
        finished_at=now,
        metrics={},
        reason=reason,
    )
    session.add(run)
    session.commit()
    return run


def mark_on_ecs(session: Session, run_id: int) -> None:
    """Note that an active run went to the ECS task, so it is not taken for abandoned at 30
    minutes."""
    session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.active_slot == ACTIVE)
        .values(reason=ON_ECS)
    )
    session.commit()


def mark_running(session: Session, run_id: int) -> bool:
    """Move a queued run to running; False if it is no longer queued (e.g. already taken)."""
    result = session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id, TrainingRun.status == "queued")
        .values(status="running", started_at=utcnow())
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_finished(
    session: Session,
    run_id: int,
    status: str,
    *,
    metrics: dict[str, Any] | None = None,
    promoted: bool = False,
    reason: str | None = None,
) -> None:
    """Close the run (succeeded, failed or skipped) and free the active slot."""
    session.execute(
        update(TrainingRun)
        .where(TrainingRun.id == run_id)
        .values(
            status=status,
            active_slot=None,
            finished_at=utcnow(),
            metrics=metrics or {},
            promoted=promoted,
            reason=reason[:4000] if reason else None,
        )
    )
    session.commit()


def get_run(session: Session, run_id: int) -> TrainingRun:
    run = session.get(TrainingRun, run_id)
    if run is None:
        raise NotFound("No such training run.")
    return run


def run_outcome(session: Session, run_id: int) -> dict[str, Any]:
    """How run `run_id` stands, in plain JSON types (what a scheduled invocation returns)."""
    run = get_run(session, run_id)
    return {
        "run_id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "promoted": run.promoted,
        "reason": run.reason,
    }


def list_runs(
    session: Session, page: PageRequest, *, trigger: str | None = None
) -> PageResult[TrainingRun]:
    """Runs, newest first; only those started by `trigger` when given."""
    query = select(TrainingRun).order_by(TrainingRun.queued_at.desc(), TrainingRun.id.desc())
    if trigger is not None:
        query = query.where(TrainingRun.trigger == trigger)
    return paginate(session, query, page)


def run_view(run: TrainingRun) -> dict[str, Any]:
    """A run as the API shows it."""
    return {
        "run_id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "queued_at": run.queued_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "metrics": run.metrics or {},
        "promoted": run.promoted,
        "reason": run.reason,
    }
