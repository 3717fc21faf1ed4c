"""Scores for retention campaigns from the served churn and spend champions."""

from __future__ import annotations

from contextlib import closing
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.db import new_session
from shop.logging import get_logger, log_failure
from shop.ml.features import compute_features
from shop.ml.predictor import champions, predict_frame
from shop.services.retention import RunSummary, Score, run_all, running_campaign_ids


def score_active_customers(session: Session, as_of: datetime | None = None) -> list[Score]:
    """Every active customer's churn probability and predicted 30-day spend, as served now."""
    frame = compute_features(session, as_of or utcnow(), active_only=True)
    return [
        Score(p["user_id"], p["churn_probability"], p["predicted_spend_30d"])
        for p in predict_frame(frame, champions.get())
    ]


def run_campaigns(session: Session) -> list[RunSummary]:
    """Run every running campaign on today's scores (none scored when none is running)."""
    if not running_campaign_ids(session):
        return []
    return run_all(session, score_active_customers(session))


def run_campaigns_after_training() -> list[RunSummary]:
    """The nightly campaign run, on the champions the training just promoted.

    Never raises: a campaign problem is logged and must not turn the night's training into a
    failure (the next night, or an admin's POST /ml/campaigns/run, tries again).
    """
    champions.clear()  # a champion promoted minutes ago must score tonight's customers
    try:
        with closing(new_session()) as session:
            summaries = run_campaigns(session)
    except Exception as exc:
        log_failure(get_logger(), "campaign run failed", exc)
        return []
    for summary in summaries:
        get_logger().info("campaign run", extra={"summary": asdict(summary)})
    return summaries
