"""Routes of the retrain function: start a run, check whether one is needed, follow runs
(admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from shop.coltypes import utcnow
from shop.http.deps import AdminUser, IdPath, PageDep, SessionDep
from shop.http.schemas import Page

from .dispatch import check_now, start_run
from .schemas import CheckIn, CheckOut, QueuedOut, RetrainIn, RunOut, ScheduleOut, Trigger

# The run bookkeeping (with SQLAlchemy's ORM and the run model) is imported by the routes that
# use it, so a health check's cold start loads none of it.
router = APIRouter(tags=["retrain"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=QueuedOut)
def retrain(
    _admin: AdminUser, session: SessionDep, response: Response, body: RetrainIn | None = None
) -> Any:
    """Queue a training run and start it in the background; 409 while another is active."""
    from shop.ml import runs

    run = runs.queue_run(session, (body or RetrainIn()).trigger)
    start_run(run.id)
    response.headers["Location"] = f"/ml/retrain/runs/{run.id}"
    return {"run_id": run.id, "status": "queued"}


@router.post("/check", response_model=CheckOut)
def check(_admin: AdminUser, session: SessionDep, body: CheckIn | None = None) -> Any:
    """Run the 15-minute check now: queue a run if new data or drift warrants one."""
    body = body or CheckIn()
    return check_now(
        session, utcnow(), new_data_share=body.new_data_share, drift_psi=body.drift_psi
    )


@router.get("/runs", response_model=Page[RunOut])
def list_runs(
    _admin: AdminUser, session: SessionDep, page: PageDep, trigger: Trigger | None = None
) -> Any:
    """Training runs, newest first; `trigger` keeps the runs started that way."""
    from shop.ml import runs

    result = runs.list_runs(session, page, trigger=trigger)
    return {
        "items": [runs.run_view(run) for run in result.items],
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
    }


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: IdPath, _admin: AdminUser, session: SessionDep) -> Any:
    """One training run with its metrics and promotion decision."""
    from shop.ml import runs

    return runs.run_view(runs.get_run(session, run_id))


@router.get("/schedule", response_model=ScheduleOut)
def schedule(_admin: AdminUser) -> Any:
    """When the models retrain by themselves (from the settings), and every run trigger."""
    from shop.coltypes import utcnow
    from shop.ml.config import get_ml_settings
    from shop.ml.schedule import describe_schedule

    return describe_schedule(get_ml_settings(), utcnow())
