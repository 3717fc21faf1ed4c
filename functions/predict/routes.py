"""Routes of the predict function (admins, or a customer asking about themself)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from shop.errors import InvalidInput, NotFound
from shop.http.deps import AdminUser, CurrentUser, IdPath, SessionDep
from shop.ml import analytics, monitoring, predictor
from shop.models import ModelVersion

from .schemas import AtRiskOut, BatchIn, BatchOut, ModelOut, PredictionOut

router = APIRouter(tags=["predict"])
ModelName = Literal["churn", "spend"]


@router.get("/models", response_model=list[ModelOut])
def list_models(_admin: AdminUser, session: SessionDep) -> Any:
    """Every trained model version, newest first; `is_champion` marks the served ones."""
    return session.scalars(
        select(ModelVersion).order_by(ModelVersion.trained_at.desc(), ModelVersion.id.desc())
    ).all()


@router.get("/predictions/users/{user_id}", response_model=PredictionOut)
def predict_user(user_id: IdPath, principal: CurrentUser, session: SessionDep) -> Any:
    """Churn probability and 30-day spend of one user; a customer may only ask about themself."""
    if not principal.is_admin and principal.user_id != user_id:
        raise NotFound("No such user.")  # never reveal whether another user exists
    return predictor.predict_user(session, user_id)


@router.post("/predictions/batch", response_model=BatchOut)
def predict_batch(body: BatchIn, _admin: AdminUser, session: SessionDep) -> Any:
    """Predictions for up to 1000 users; unknown ids are listed in `not_found`."""
    found, missing = predictor.predict_users(session, body.user_ids)
    return {"predictions": found, "not_found": missing}


@router.get("/predictions/at-risk", response_model=list[AtRiskOut])
def at_risk(
    _admin: AdminUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Any:
    """Active customers by churn probability, highest first."""
    return predictor.at_risk(session, limit)


@router.get("/analytics/behavior")
def behavior(
    _admin: AdminUser, session: SessionDep, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> Any:
    """Event counts per type and day, and the view -> cart -> checkout funnel."""
    return analytics.behavior_summary(session, days)


@router.get("/monitoring/runs")
def monitoring_runs(
    _admin: AdminUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Any:
    """Headline metrics of the latest training runs, oldest first (for charts over time)."""
    return monitoring.run_history(session, limit)


@router.get("/monitoring/champions")
def monitoring_champions(_admin: AdminUser, session: SessionDep) -> Any:
    """Every promoted model version, newest first."""
    return monitoring.champion_history(session)


@router.get("/monitoring/drift")
def monitoring_drift(_admin: AdminUser, session: SessionDep, model: ModelName = "churn") -> Any:
    """Population stability index of each feature: today's users against the training data."""
    return monitoring.drift(session, model)


@router.get("/monitoring/backtest")
def monitoring_backtest(
    _admin: AdminUser, session: SessionDep, cutoff: datetime | None = None
) -> Any:
    """The champions' predictions at a past cutoff against what really happened after it."""
    if cutoff is not None and cutoff.tzinfo is None:
        raise InvalidInput(
            "cutoff needs a time zone, e.g. 2026-10-01T00:00:00Z.", loc=["query", "cutoff"]
        )
    return monitoring.backtest(session, cutoff)
