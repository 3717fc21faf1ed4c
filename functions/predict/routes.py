"""Prediction routes of the predict function (admins, or a customer asking about themself).

The other routes are in `monitoring_routes`: FastAPI sets up a router's routes on its first
request, so a cold start that answers a prediction sets up only these. The predictor (numpy,
the feature query, ONNX Runtime) is imported by the first prediction: a health check or a
monitoring request never loads it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Annotated, Any

from fastapi import APIRouter, Query

from shop.coldstart import first_use
from shop.errors import NotFound
from shop.http.deps import AdminUser, CurrentUser, IdPath, SessionDep

from .schemas import AtRiskOut, BatchIn, BatchOut, PredictionOut

router = APIRouter(tags=["predict"])


def _predictor() -> ModuleType:
    with first_use("shop.ml.predictor"):
        from shop.ml import predictor
    return predictor


@router.get("/predictions/users/{user_id}", response_model=PredictionOut)
async def predict_user(user_id: IdPath, principal: CurrentUser, session: SessionDep) -> Any:
    """Churn probability and 30-day spend of one user; a customer may only ask about themself.

    `async def`, though it blocks: inline, without a worker thread (see shop.http.deps).
    """
    if not principal.is_admin and principal.user_id != user_id:
        raise NotFound("No such user.")  # never reveal whether another user exists
    return _predictor().predict_user(session, user_id)


@router.post("/predictions/batch", response_model=BatchOut)
async def predict_batch(body: BatchIn, _admin: AdminUser, session: SessionDep) -> Any:
    """Predictions for up to 1000 users; unknown ids are listed in `not_found`."""
    found, missing = _predictor().predict_users(session, body.user_ids)
    return {"predictions": found, "not_found": missing}


@router.get("/predictions/at-risk", response_model=list[AtRiskOut])
def at_risk(
    _admin: AdminUser, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> Any:
    """Active customers by churn probability, highest first."""
    return _predictor().at_risk(session, limit)
