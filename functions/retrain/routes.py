"""Routes of the retrain function: start a run, follow runs (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from shop.http.deps import AdminUser, IdPath, PageDep, SessionDep
from shop.http.schemas import Page
from shop.ml import runs

from .dispatch import start_run
from .schemas import QueuedOut, RetrainIn, RunOut, ScheduleOut

router = APIRouter(tags=["retrain"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=QueuedOut)
def retrain(
    _admin: AdminUser, session: SessionDep, response: Response, _body: RetrainIn | None = None
) -> Any:
    """Queue a training run and start it in the background; 409 while another is active."""
    run = runs.queue_run(session, "manual")
    start_run(run.id)
    response.headers["Location"] = f"/ml/retrain/runs/{run.id}"
    return {"run_id": run.id, "status": "queued"}


@router.get("/runs", response_model=Page[RunOut])
def list_runs(_admin: AdminUser, session: SessionDep, page: PageDep) -> Any:
    """Training runs, newest first."""
    result = runs.list_runs(session, page)
    return {
        "items": [runs.run_view(run) for run in result.items],
        "total": result.total,
        "page": result.page,
        "page_size": result.page_size,
    }


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: IdPath, _admin: AdminUser, session: SessionDep) -> Any:
    """One training run with its metrics and promotion decision."""
    return runs.run_view(runs.get_run(session, run_id))


@router.get("/schedule", response_model=ScheduleOut)
def schedule(_admin: AdminUser) -> Any:
    """When the models retrain by themselves (from the settings), and every run trigger."""
    from shop.coltypes import utcnow
    from shop.ml.config import get_ml_settings
    from shop.ml.schedule import describe_schedule

    return describe_schedule(get_ml_settings(), utcnow())
