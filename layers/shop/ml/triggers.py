"""The cheap check that queues a training run when new data warrants one.

It runs every 15 minutes (EventBridge in AWS, the `shopfn serve` scheduler locally) and
queues a run when either holds, both measured since the data the latest successful run saw
(the champion's, unless a later run kept it):

- new data: orders or behavior events since then exceed a share of what that run had
  (bounded COUNTs on the time indexes: the count stops once the threshold is passed);
- drift: the largest feature PSI of a bounded sample of today's active users, against that
  run's reference population, exceeds a threshold.

Both run on every check, and together cost well under 50 ms with 100,000 orders
(tests/benchmarks/test_ml_check.py). The counts take a few milliseconds whatever the shop's
size. The drift sample's features are read through the (user, time) indexes: only the
windows' events of the sampled users, their last login and last event by a short index
walk each, and the cancellations from their partial index (`shop.ml.features`).

A shop with no model yet (a new deployment, a shop that just imported its history) gets a
`new_data` run as soon as it has the order history the first models need
(`min_users_with_history` customers with orders before the validation cutoff), instead of
waiting for the nightly run.

A check queues at most one run per successful run (one in all, while no run has succeeded):
a run it queued that then fails or is skipped is not retried every 15 minutes; the nightly
run stays the upper bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.ml.artifacts import ArtifactError, ArtifactStore
from shop.ml.config import get_ml_settings
from shop.ml.dataset import plan_cutoffs, users_with_history
from shop.ml.drift import NO_REFERENCE, population_drift, reference_of
from shop.ml.features import compute_features
from shop.ml.runs import RunAlreadyActive, queue_run
from shop.models import BehaviorEvent, ModelVersion, Order, TrainingRun

#: The triggers the check itself queues.
CHECK_TRIGGERS: tuple[str, ...] = ("new_data", "drift")
_MIN_SAMPLE = 30  # fewer active users in the sample: drift is not judged
_references: dict[tuple[str, str], tuple[dict[str, Any], datetime] | None] = {}


@dataclass(frozen=True)
class Thresholds:
    new_data_share: float
    drift_psi: float
    drift_sample: int

    @classmethod
    def from_settings(cls, **overrides: float | int | None) -> Thresholds:
        settings = get_ml_settings()
        values: dict[str, Any] = {
            "new_data_share": settings.retrain_new_data_share,
            "drift_psi": settings.retrain_drift_psi,
            "drift_sample": settings.retrain_drift_sample,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def data_size(session: Session, until: datetime) -> dict[str, Any]:
    """Orders and behavior events before `until`: what a run trained on."""
    orders = select(func.count(Order.id)).where(Order.created_at < until)
    events = select(func.count(BehaviorEvent.id)).where(BehaviorEvent.occurred_at < until)
    return {
        "data_until": until.isoformat(),
        "orders": int(session.scalar(orders) or 0),
        "events": int(session.scalar(events) or 0),
    }


def _count_since(
    session: Session, column: Any, since: datetime, until: datetime, limit: int
) -> int:
    """Rows with `since <= column <= until`, counted up to `limit` (an index range).

    Bounded on both sides on purpose: right after a bulk load the table's statistics are
    stale or missing, and PostgreSQL then guesses a third of the table for `column >= since`
    and scans all of it (18 ms at 0.3M events, 240 ms at 4M, for no new row), but a small
    share for a closed range, which it reads through the index (0.1 ms).
    """
    rows = select(column).where(column.between(since, until)).order_by(column).limit(limit)
    return int(session.scalar(select(func.count()).select_from(rows.subquery())) or 0)


def _baseline(session: Session) -> TrainingRun | None:
    query = select(TrainingRun).where(TrainingRun.status == "succeeded")
    return session.scalar(query.order_by(TrainingRun.id.desc()).limit(1))


def _new_data(session: Session, run: TrainingRun, share: float, now: datetime) -> dict[str, Any]:
    data = (run.metrics or {}).get("data") or {}
    until = run.started_at or run.queued_at
    if "data_until" in data:
        until = datetime.fromisoformat(data["data_until"])
    else:  # a run from before the counts were recorded: count once
        data = data_size(session, until)
    result: dict[str, Any] = {"data_until": until}
    for key, column in (("orders", Order.created_at), ("events", BehaviorEvent.occurred_at)):
        base = int(data.get(key) or 0)
        limit = int(base * share) + 1
        result[key] = base
        result[f"new_{key}"] = _count_since(session, column, until, now, limit)
        result[f"{key}_share"] = round(result[f"new_{key}"] / max(base, 1), 4)
    return result


def _reference(store: ArtifactStore, name: str, version: str) -> Any:
    key = (store.location, f"{name}/{version}")
    if key not in _references:
        _references[key] = reference_of(store.load_metadata(name, version))
    return _references[key]


def _id_bounds() -> Any:
    """The lowest and highest user id with an order or an event: four index end points.

    One min or max per subquery: SQLite reads an index's end only for a lone min/max, and
    scans the whole index for `min(x), max(x)` together.
    """
    ends = [
        select(agg(column)).scalar_subquery()
        for column in (Order.user_id, BehaviorEvent.user_id)
        for agg in (func.min, func.max)
    ]
    return select(*ends)


def _drift(
    session: Session, run: TrainingRun, now: datetime, sample: int, store: ArtifactStore
) -> dict[str, Any]:
    """The largest feature PSI of up to `sample` user ids drawn from the active id range.

    Only the sampled users' rows are read (`compute_features` with ids), so the cost follows
    the sample, not the shop. With the default 300, a stable feature's PSI from sampling
    alone is about (10 bins - 1) / 300 = 0.03, far below the 0.25 threshold.
    """
    version = session.scalar(
        select(ModelVersion.version).where(
            ModelVersion.run_id == run.id, ModelVersion.name == "churn"
        )
    )
    if version is None:
        return {"drift_psi": None, "drift_feature": None, "drift_note": "the run kept no model"}
    try:
        found = _reference(store, "churn", version)
    except ArtifactError:
        return {"drift_psi": None, "drift_feature": None, "drift_note": "its model is unreadable"}
    if found is None:
        return {"drift_psi": None, "drift_feature": None, "drift_note": NO_REFERENCE}
    reference, as_of = found
    bounds = [b for b in session.execute(_id_bounds()).one() if b is not None]
    if not bounds:
        return {"drift_psi": None, "drift_feature": None, "drift_note": "no active users"}
    first_id, span = min(bounds), max(bounds) - min(bounds) + 1
    rng = np.random.default_rng(int(now.timestamp()))  # a fixed instant, a fixed sample
    ids = first_id + rng.choice(span, size=min(sample, span), replace=False)
    frame = compute_features(session, now, sorted(int(i) for i in ids), active_only=True)
    if len(frame.user_ids) < _MIN_SAMPLE:
        return {"drift_psi": None, "drift_feature": None, "drift_note": "too few active users"}
    features, _ = population_drift(reference, as_of, frame)
    top = features[0] if features else {"psi": None, "feature": None}
    return {
        "drift_psi": top["psi"],
        "drift_feature": top["feature"],
        "sampled_users": len(frame.user_ids),
    }


def _first_models(session: Session, now: datetime) -> dict[str, Any]:
    """No run has succeeded yet: a run once enough customers have orders to learn from."""
    settings = get_ml_settings()
    plan = plan_cutoffs(now, settings.churn_horizon_days, settings.train_cutoffs)
    needed = settings.min_users_with_history
    have = users_with_history(session, plan.validation, up_to=needed)
    found: dict[str, Any] = {"checked_at": now, "baseline_run_id": None}
    since = f"orders from before {plan.validation:%Y-%m-%d}"
    if have < needed:
        found["trigger"] = None
        found["reason"] = (
            f"no model has been trained yet, and only {have} customers have {since}; "
            f"the first models need {needed}"
        )
        return found
    found["trigger"] = "new_data"
    found["first_models"] = True
    found["reason"] = (
        f"no model has been trained yet, and at least {needed} customers have {since}: "
        "enough for the first models"
    )
    return found


def evaluate(
    session: Session,
    now: datetime,
    thresholds: Thresholds,
    store: ArtifactStore,
) -> dict[str, Any]:
    """What the check sees now, and the trigger it would queue a run for (or None)."""
    run = _baseline(session)
    if run is None:
        return _first_models(session, now)
    found: dict[str, Any] = {"checked_at": now, "baseline_run_id": run.id}
    found.update(_new_data(session, run, thresholds.new_data_share, now))
    share = max(found["orders_share"], found["events_share"])
    if share > thresholds.new_data_share:
        found["trigger"] = "new_data"
        found["reason"] = (
            f"{found['new_orders']} new orders and {found['new_events']} new events since run "
            f"{run.id}: more than {thresholds.new_data_share:.0%} of its data"
        )
        return found
    found.update(_drift(session, run, now, thresholds.drift_sample, store))
    if found.get("drift_note") == NO_REFERENCE:
        found["trigger"] = "drift"
        found["reason"] = (
            f"the model of run {run.id} was {NO_REFERENCE}: a new run keeps one and replaces "
            "that model if it is the champion"
        )
        return found
    psi = found["drift_psi"]
    if psi is not None and psi > thresholds.drift_psi:
        found["trigger"] = "drift"
        found["reason"] = (
            f"{found['drift_feature']} moved (PSI {psi:.2f}, above {thresholds.drift_psi:.2f}) "
            f"since run {run.id}"
        )
        return found
    found["trigger"] = None
    found["reason"] = "not enough new data and no drift: no run needed"
    return found


def run_check(
    session: Session,
    now: datetime,
    thresholds: Thresholds,
    store: ArtifactStore,
    start: Callable[[int], None],
) -> dict[str, Any]:
    """Evaluate and, when warranted, queue a run with its trigger and have `start` run it."""
    found = evaluate(session, now, thresholds, store)
    found["run_id"] = None
    trigger = found["trigger"]
    if trigger is None:
        return found
    already = session.scalar(
        select(TrainingRun.id)
        .where(
            TrainingRun.trigger.in_(CHECK_TRIGGERS),
            TrainingRun.id > (found["baseline_run_id"] or 0),
        )
        .limit(1)
    )
    if already is not None:
        found["reason"] += f"; run {already} was already queued for it"
        return found
    try:
        run = queue_run(session, trigger)
    except RunAlreadyActive as exc:
        found["reason"] += f"; run {exc.extra.get('active_run_id')} is active"
        return found
    found["run_id"] = run.id
    start(run.id)
    return found
