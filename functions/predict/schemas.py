"""Request and response bodies of the predict function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from shop.http.schemas import MoneyOut, RequestBody, Response

UserId = Annotated[int, Field(ge=1, le=2_147_483_647)]


class PredictionOut(Response):
    user_id: int
    churn_probability: float
    churn_risk: Literal["low", "medium", "high"]
    predicted_spend_30d: MoneyOut
    model_versions: dict[str, str]


class AtRiskOut(PredictionOut):
    email: str | None


class BatchIn(RequestBody):
    user_ids: Annotated[list[UserId], Field(min_length=1, max_length=1000)]


class BatchOut(Response):
    predictions: list[PredictionOut]
    not_found: list[int]


class ModelOut(Response):
    name: Literal["churn", "spend"]
    version: str
    kind: str
    trained_at: datetime
    metrics: dict[str, Any]
    is_champion: bool
