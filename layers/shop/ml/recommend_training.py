"""The recommendation step of a training run: measure, fit on everything, store, promote.

The model is measured the way `shopfn ml backtest` measures it (fit before the run's
validation cutoff, scored on the horizon after it), then fitted again on everything up to
now, since its lists must know today's customers and products (Picked for you's similarity
and weight of popularity chosen on its last `horizon_days`). It is promoted only when both
"Picked for you" and "Buy it again" beat best sellers on that window; until a model is, the
shop shows best sellers and says so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shop.ml.artifacts import ArtifactStore
from shop.ml.recommend_data import load_history
from shop.ml.recommend_eval import backtest_recommendations, beats_popularity
from shop.ml.recommend_fit import choose_blend, fit_recommendations
from shop.ml.versions import save_model_version
from shop.models import ModelVersion

NAME = "recommendations"
KIND = "cooccurrence"
ARTIFACT = "recommendations.npz"


def train_recommendations(
    session: Session,
    store: ArtifactStore,
    *,
    run_id: int,
    version: str,
    now: datetime,
    validation_cutoff: datetime,
    horizon_days: int,
) -> dict[str, Any]:
    """Fit, measure and store the recommendation model; the run's summary of it."""
    scores = backtest_recommendations(session, validation_cutoff, horizon_days)
    history = load_history(session, now)
    if not history.has_orders:
        return {"chosen": None, "promoted": False, "reason": "no orders yet", "validation": scores}
    choice = choose_blend(history, horizon_days)
    model = fit_recommendations(history, choice["blend"], choice["lean"], choice["together"])
    promote = beats_popularity(scores)
    reason = _reason(scores, promote)
    summary = {
        "products": len(model.products),
        "customers": len(model.users),
        "validation_cutoff": validation_cutoff.isoformat(),
        "horizon_days": horizon_days,
        "validation": scores,
        "picked_for_you_choice": choice,
    }
    save_model_version(
        session,
        store,
        ModelVersion(
            name=NAME, version=version, kind=KIND, run_id=run_id, trained_at=now, metrics=summary
        ),
        {ARTIFACT: model.to_bytes()},
        {**summary, "kind": KIND, "as_of": now.isoformat(), "run_id": run_id, "reason": reason},
        promote=promote,
    )
    return {"chosen": KIND, "promoted": promote, "reason": reason, **summary}


def _reason(scores: dict[str, Any], promoted: bool) -> str:
    shown = ", ".join(
        f"{name} hit rate {part['hit_rate_at_10']:.3f} vs best sellers "
        f"{part['popularity']['hit_rate_at_10']:.3f}"
        for name, part in scores.items()
    )
    customers = scores["picked_for_you"]["customers"]
    if promoted:
        return f"{shown} on {customers} customers; promoted"
    if not customers:
        return "no customer bought both before and after the validation cutoff; not promoted"
    return f"{shown} on {customers} customers: not better than best sellers, not promoted"
