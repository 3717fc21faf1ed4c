"""Model monitoring for the dashboard: runs over time, champions, feature drift, backtests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.ml.drift import NO_REFERENCE, population_drift, reference_of
from shop.ml.evaluation import churn_metrics, spend_metrics
from shop.ml.features import compute_features
from shop.ml.labels import SPEND_DAYS, orders_after
from shop.ml.predictor import champions
from shop.models import ModelVersion, TrainingRun

_RUN_METRICS = {"churn": ("auc", "brier", "log_loss", "ece"), "spend": ("mae", "rmse", "spearman")}


def run_history(session: Session, limit: int) -> list[dict[str, Any]]:
    """The latest runs, oldest first, with the chosen candidates' headline metrics."""
    runs = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)).all()
    history = []
    for run in reversed(runs):
        metrics = run.metrics or {}
        row: dict[str, Any] = {
            "run_id": run.id,
            "trigger": run.trigger,
            "status": run.status,
            "queued_at": run.queued_at,
            "finished_at": run.finished_at,
            "promoted": run.promoted,
            "timings_seconds": metrics.get("timings_seconds"),
        }
        for name, keys in _RUN_METRICS.items():
            part = metrics.get(name) or {}
            chosen = (part.get("candidates") or {}).get(part.get("chosen"), {})
            row[name] = {"model": part.get("chosen"), **{k: chosen.get(k) for k in keys}}
        history.append(row)
    return history


def champion_history(session: Session) -> list[dict[str, Any]]:
    """Every version that was ever promoted, newest first."""
    rows = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.promoted_at.is_not(None))
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc())
    ).all()
    return [
        {
            "name": row.name,
            "version": row.version,
            "kind": row.kind,
            "promoted_at": row.promoted_at,
            "retired_at": row.retired_at,
            "is_champion": row.is_champion,
            "metrics": row.metrics,
        }
        for row in rows
    ]


def drift(session: Session, name: str) -> dict[str, Any]:
    """PSI of each feature today against the population the champion was trained on.

    A champion trained before drift references were kept has none to compare with: no
    features, and a `note` saying so (the next training run replaces it).
    """
    model = champions.get()[name]
    found = reference_of(model.metadata)
    frame = compute_features(session, utcnow(), active_only=True)
    result: dict[str, Any] = {"model": name, "version": model.version, "users": len(frame.user_ids)}
    if found is None:
        result["note"] = f"{model.version} was {NO_REFERENCE}; the next training run replaces it"
        return {**result, "reference_as_of": None, "elapsed_days": None, "features": []}
    reference, reference_as_of = found
    features, elapsed = population_drift(reference, reference_as_of, frame)
    return {
        **result,
        "reference_as_of": reference_as_of,
        "elapsed_days": round(elapsed, 2),
        "features": features,
    }


def backtest(session: Session, cutoff: datetime | None = None) -> dict[str, Any]:
    """The champions' predictions at `cutoff` against what users did after it.

    By default the cutoff is the latest whose churn horizon has fully passed.
    """
    models = champions.get()
    horizon = int(models["churn"].metadata.get("horizon_days", SPEND_DAYS))
    now = utcnow()
    cutoff = cutoff or now - timedelta(days=max(horizon, SPEND_DAYS))
    frame = compute_features(session, cutoff, active_only=True)
    observed_days = max(0.0, min((now - cutoff).total_seconds() / 86400, horizon))
    result: dict[str, Any] = {
        "cutoff": cutoff,
        "horizon_days": horizon,
        "observed_days": round(observed_days, 2),
        "complete": observed_days >= horizon,
        "users": len(frame.user_ids),
        "model_versions": {name: m.version for name, m in models.items()},
    }
    if len(frame.user_ids) == 0:
        return {**result, "churn": None, "spend": None}
    counts, _ = orders_after(session, cutoff, horizon, frame.user_ids)
    _, spend = orders_after(session, cutoff, SPEND_DAYS, frame.user_ids)
    churn = churn_metrics((counts == 0).astype(float), models["churn"].predict(frame))
    value = spend_metrics(spend, models["spend"].predict(frame))
    trained = models["churn"].metadata.get("windows", {}).get("validation_cutoff")
    in_sample = trained is not None and datetime.fromisoformat(trained) >= cutoff
    return {**result, "churn": churn, "spend": value, "overlaps_training": in_sample}
