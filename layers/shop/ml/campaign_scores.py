"""Scores for retention campaigns from the served churn and spend champions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.ml.features import compute_features
from shop.ml.predictor import champions, predict_frame
from shop.services.retention import RunSummary, Score, run_all


def score_active_customers(session: Session, as_of: datetime | None = None) -> list[Score]:
    """Every active customer's churn probability and predicted 30-day spend, as served now."""
    frame = compute_features(session, as_of or utcnow(), active_only=True)
    return [
        Score(p["user_id"], p["churn_probability"], p["predicted_spend_30d"])
        for p in predict_frame(frame, champions.get())
    ]


def run_campaigns(session: Session) -> list[RunSummary]:
    """Run every running campaign on today's scores (none scored when none is running)."""
    from shop.services.retention import running_campaign_ids

    if not running_campaign_ids(session):
        return []
    return run_all(session, score_active_customers(session))
