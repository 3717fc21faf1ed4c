"""Drift of the live population against the one the champion was trained on, like with like.

The reference is taken when a model is trained, at the end of its data and over the same
population the live check reads (`active_only`): right after training, on an unchanged
shop, every feature is stable. The stacked training examples are not the reference: their
older cutoffs make time-growing features (tenure, days since ...) look shorter than today's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shop.ml.features import FeatureFrame, compute_features
from shop.ml.monitoring_stats import feature_drift, reference_distribution

_DAY = 86400.0


def reference_snapshot(session: Session, as_of: datetime) -> dict[str, Any]:
    """The drift reference stored with each model version: the active population at `as_of`."""
    frame = compute_features(session, as_of, active_only=True)
    return {
        "as_of": as_of.isoformat(),
        "population": "active",
        "users": len(frame.user_ids),
        "features": reference_distribution(frame) if len(frame.user_ids) else {},
    }


#: Why a model version has no drift reference: a champion older than the snapshot. Such a
#: champion is replaced by the next training run's best candidate (`shop.ml.champion`), and
#: the 15-minute check queues that run (`shop.ml.triggers`).
NO_REFERENCE = "trained before drift references were kept"


def reference_of(metadata: dict[str, Any]) -> tuple[dict[str, Any], datetime] | None:
    """(per-feature reference, its instant) of a model version's metadata; None for a
    version trained before the snapshot existed (`NO_REFERENCE`)."""
    snapshot = metadata.get("drift_reference")
    if isinstance(snapshot, dict) and snapshot.get("features"):
        return snapshot["features"], datetime.fromisoformat(snapshot["as_of"])
    return None


def population_drift(
    reference: dict[str, Any], reference_as_of: datetime, frame: FeatureFrame
) -> tuple[list[dict[str, Any]], float]:
    """Each feature's drift, largest first, and the days between the reference and `frame`."""
    elapsed = max((frame.as_of - reference_as_of).total_seconds() / _DAY, 0.0)
    if not reference or len(frame.user_ids) == 0:
        return [], elapsed
    return feature_drift(reference, frame, elapsed_days=elapsed), elapsed
