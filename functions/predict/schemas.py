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
    name: Literal["churn", "spend", "recommendations"]
    version: str
    kind: str
    trained_at: datetime
    metrics: dict[str, Any]
    is_champion: bool


class RecommendedProductOut(Response):
    id: int
    name: str
    price: MoneyOut
    image_url: str | None
    category: str


class RecommendationsOut(Response):
    #: "model": the trained model's list; "best_sellers": the shop's best sellers (no model
    #: yet, or nothing known about this product or customer); "order_history": the customer's
    #: own most bought products (buy it again, before the model knows their orders).
    source: Literal["model", "best_sellers", "order_history"]
    #: Why the answer is not the model's own list (None when it is).
    reason: str | None
    model_version: str | None
    products: list[RecommendedProductOut]


class RecommendationImpactOut(Response):
    days: int
    attribution_days: int
    product_views: int
    cart_adds: int
    orders: int
    revenue: MoneyOut
    orders_by_source: dict[str, int]
    #: What the storefront shows now: "model", or "best_sellers" with the reason.
    source: Literal["model", "best_sellers"]
    model_version: str | None
    reason: str | None
