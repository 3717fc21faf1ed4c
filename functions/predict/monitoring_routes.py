"""Model, analytics and monitoring routes of the predict function (admins only).

Analytics, monitoring and the model versions' model are imported by the routes that use them:
a cold start that answers a prediction or a health check needs none of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from shop.errors import InvalidInput
from shop.http.deps import AdminUser, SessionDep

from .schemas import ModelOut

router = APIRouter(tags=["predict"])
ModelName = Literal["churn", "spend"]


@router.get("/models", response_model=list[ModelOut])
def list_models(_admin: AdminUser, session: SessionDep) -> Any:
    """Every trained model version, newest first; `is_champion` marks the served ones."""
    from shop.models import ModelVersion

    return session.scalars(
        select(ModelVersion).order_by(ModelVersion.trained_at.desc(), ModelVersion.id.desc())
    ).all()


@router.get("/analytics/behavior")
def behavior(
    _admin: AdminUser, session: SessionDep, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> Any:
    """Event counts per type and day, and the view -> cart -> checkout funnel."""
    from shop.ml import analytics

    return analytics.behavior_summary(session, days)


@router.get("/monitoring/runs")
def monitoring_runs(
    _admin: AdminUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Any:
    """Headline metrics of the latest training runs, oldest first (for charts over time)."""
    from shop.ml import monitoring

    return monitoring.run_history(session, limit)


@router.get("/monitoring/champions")
def monitoring_champions(_admin: AdminUser, session: SessionDep) -> Any:
    """Every promoted model version, newest first."""
    from shop.ml import monitoring

    return monitoring.champion_history(session)


@router.get("/monitoring/drift")
def monitoring_drift(_admin: AdminUser, session: SessionDep, model: ModelName = "churn") -> Any:
    """Population stability index of each feature: today's users against the training data."""
    from shop.ml import monitoring

    return monitoring.drift(session, model)


@router.get("/monitoring/backtest")
def monitoring_backtest(
    _admin: AdminUser, session: SessionDep, cutoff: datetime | None = None
) -> Any:
    """The champions' predictions at a past cutoff against what really happened after it."""
    from shop.ml import monitoring

    if cutoff is not None and cutoff.tzinfo is None:
        raise InvalidInput(
            "cutoff needs a time zone, e.g. 2026-10-01T00:00:00Z.", loc=["query", "cutoff"]
        )
    return monitoring.backtest(session, cutoff)
