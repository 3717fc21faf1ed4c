"""Admin sales figures for the dashboard, computed by the database."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from shop.http.deps import AdminUser, SessionDep

from .schemas import SalesStatsOut

router = APIRouter(tags=["stats"])


@router.get("/stats", response_model=SalesStatsOut)
def sales_stats(
    _admin: AdminUser,
    session: SessionDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Any:
    """Orders and revenue per UTC day, orders by status, best sellers and totals (admins)."""
    from shop.services import order_stats  # here: a health check never needs it

    return order_stats.sales_stats(session, days, top=top)
