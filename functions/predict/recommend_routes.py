"""Recommendation routes of the predict function: for the storefront, and their count.

The serving module (and so the model's arrays) is imported by the first recommendation
request, never at cold start: a container that only predicts churn starts as fast as before.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shop.http.deps import AdminUser, CurrentUser, IdPath, SessionDep

from .schemas import RecommendationImpactOut, RecommendationsOut

router = APIRouter(tags=["recommendations"])
Limit = Annotated[int, Query(ge=1, le=30)]
ProductIds = Annotated[
    list[Annotated[int, Query(ge=1, le=2_147_483_647)]], Query(min_length=1, max_length=50)
]


@router.get("/recommendations/products/{product_id}", response_model=RecommendationsOut)
async def often_bought_together(product_id: IdPath, session: SessionDep, limit: Limit = 10) -> Any:
    """Products often bought with this one, on sale (best sellers when none are known)."""
    from shop.ml import recommend_serving

    return recommend_serving.often_bought_together(session, [product_id], limit)


@router.get("/recommendations/together", response_model=RecommendationsOut)
async def bought_with_cart(product_ids: ProductIds, session: SessionDep, limit: Limit = 10) -> Any:
    """Products often bought with a set of products (a cart), those left out."""
    from shop.ml import recommend_serving

    return recommend_serving.often_bought_together(session, product_ids, limit)


@router.get("/recommendations/for-you", response_model=RecommendationsOut)
async def picked_for_you(principal: CurrentUser, session: SessionDep, limit: Limit = 10) -> Any:
    """Products the signed-in customer never bought, matched to what they buy and view."""
    from shop.ml import recommend_serving

    return recommend_serving.picked_for_you(session, principal.user_id, limit)


@router.get("/recommendations/buy-again", response_model=RecommendationsOut)
async def buy_again(principal: CurrentUser, session: SessionDep, limit: Limit = 10) -> Any:
    """The signed-in customer's past purchases, most likely to be bought again first."""
    from shop.ml import recommend_serving

    return recommend_serving.buy_again(session, principal.user_id, limit)


@router.get("/recommendations/impact", response_model=RecommendationImpactOut)
def recommendation_impact(
    _admin: AdminUser, session: SessionDep, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> Any:
    """Views, cart adds, orders and revenue that came from recommendations; what is shown now."""
    from shop.ml import recommend_serving
    from shop.ml.recommend_impact import recommendation_impact as impact

    return {**impact(session, days), **recommend_serving.status()}
