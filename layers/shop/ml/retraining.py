"""One training run end to end: data, candidates, evaluation, artifacts, promotion.

A run that raises is marked `failed` with its error; a run without enough data is
`skipped` with the reason; otherwise it `succeeded`, promoted or not, with the reason.
"""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.db import new_session
from shop.logging import failure_reason, get_logger, log_failure
from shop.ml.artifacts import ArtifactError, ArtifactStore, ArtifactStoreUnavailable, StoredModel
from shop.ml.champion import Champion, Decision, decide
from shop.ml.config import get_ml_settings
from shop.ml.dataset import (
    CutoffPlan,
    build_examples,
    plan_cutoffs,
    spend_examples,
    users_with_history,
)
from shop.ml.drift import reference_of, reference_snapshot
from shop.ml.runs import RunAlreadyActive, mark_finished, mark_running, queue_run, record_skipped
from shop.ml.scoring import ServingModel
from shop.ml.training import MODEL_NAMES, Candidate, evaluate, fit_candidates, score_candidates
from shop.ml.triggers import data_size
from shop.ml.versions import save_model_version
from shop.models import ModelVersion, TrainingRun
from shop.progress import advance, in_steps

_SUMMARY_KEYS = ("auc", "brier", "log_loss", "ece", "mae", "rmse", "spearman", "examples")


@dataclass
class Outcome:
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    promoted: bool = False
    reason: str | None = None


def execute_run(
    run_id: int, *, store: ArtifactStore | None = None, now: datetime | None = None
) -> None:
    """Run a queued training run to its end; every exit path closes the run."""
    log = get_logger()
    with closing(new_session()) as session:
        if not mark_running(session, run_id):
            return
        try:
            outcome = train_and_promote(
                session, run_id, store or ArtifactStore.from_settings(), now or utcnow()
            )
        except Exception as exc:
            session.rollback()
            log_failure(log, "training run failed", exc, run_id=run_id)
            mark_finished(session, run_id, "failed", reason=failure_reason(exc))
            return
        mark_finished(
            session,
            run_id,
            outcome.status,
            metrics=outcome.metrics,
            promoted=outcome.promoted,
            reason=outcome.reason,
        )


def run_scheduled(*, store: ArtifactStore | None = None, now: datetime | None = None) -> int:
    """The nightly run (executed here and now); if one is active, a `skipped` run instead."""
    with closing(new_session()) as session:
        try:
            run = queue_run(session, "schedule")
        except RunAlreadyActive as exc:
            active = exc.extra.get("active_run_id")
            skipped = record_skipped(
                session, "schedule", f"run {active} was still active when the schedule fired"
            )
            return skipped.id
        run_id = run.id
    execute_run(run_id, store=store, now=now)
    return run_id


@in_steps("training models", total=5)
def train_and_promote(
    session: Session, run_id: int, store: ArtifactStore, now: datetime
) -> Outcome:
    settings = get_ml_settings()
    plan = plan_cutoffs(now, settings.churn_horizon_days, settings.train_cutoffs)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    history = users_with_history(session, plan.validation)
    data: dict[str, Any] = {**plan.as_dict(), "users_with_history": history}
    if history < settings.min_users_with_history:
        return Outcome(
            "skipped",
            {"data": data},
            reason=f"only {history} users had orders before the validation cutoff; "
            f"at least {settings.min_users_with_history} are needed",
        )
    train = build_examples(session, plan.train, plan.horizon_days)
    spend_train = spend_examples(session, plan, train)
    validation = build_examples(session, [plan.validation], plan.horizon_days)
    timings["load_features_labels"] = time.perf_counter() - started
    advance()
    # What this run saw: the base of the new-data trigger and of the drift reference.
    data.update(data_size(session, now))
    data.update(training_examples=len(train), validation_examples=len(validation))
    if len(train) == 0 or len(validation) == 0 or len(set(train.churned.tolist())) < 2:
        return Outcome(
            "skipped", {"data": data}, reason="not enough history before the training cutoffs"
        )
    # Before the costly fit: an unreachable store fails the run now, the champion untouched.
    stored = {name: _load_champion(store, name) for name in MODEL_NAMES}
    mark = time.perf_counter()
    candidates = fit_candidates(train, plan, seed=run_id, spend_train=spend_train)
    timings["fit"] = time.perf_counter() - mark
    advance()
    mark = time.perf_counter()
    reference = reference_snapshot(session, now)
    for group in candidates.values():
        for candidate in group:
            candidate.metadata["drift_reference"] = reference
    timings["drift_reference"] = time.perf_counter() - mark
    mark = time.perf_counter()
    score_candidates(candidates, validation)
    champions = {name: _champion_metrics(stored[name], validation) for name in MODEL_NAMES}
    timings["evaluate"] = time.perf_counter() - mark
    advance()
    mark = time.perf_counter()
    version = f"{now:%Y%m%dT%H%M%SZ}-r{run_id}"
    decisions = {
        name: _record(session, store, run_id, version, now, plan, candidates[name], champions)
        for name in MODEL_NAMES
    }
    timings["upload"] = time.perf_counter() - mark
    advance()
    mark = time.perf_counter()
    recommendations = _recommendations(session, store, run_id, version, now, plan)
    timings["recommendations"] = time.perf_counter() - mark
    advance()
    timings["total"] = time.perf_counter() - started
    metrics = {
        "data": data,
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
        **{name: _summary(candidates[name], decisions[name]) for name in MODEL_NAMES},
        "recommendations": recommendations,
    }
    promoted = any(d.promote for d in decisions.values()) or recommendations["promoted"]
    reason = "; ".join(f"{name}: {d.reason}" for name, d in decisions.items())
    reason += f"; recommendations: {recommendations['reason']}"
    return Outcome("succeeded", metrics, promoted, reason)


def _recommendations(
    session: Session,
    store: ArtifactStore,
    run_id: int,
    version: str,
    now: datetime,
    plan: CutoffPlan,
) -> dict[str, Any]:
    """The recommendation step; its failure is reported, and churn and spend stay trained."""
    from shop.ml.recommend_training import train_recommendations

    try:
        return train_recommendations(
            session,
            store,
            run_id=run_id,
            version=version,
            now=now,
            validation_cutoff=plan.validation,
            horizon_days=plan.horizon_days,
        )
    except Exception as exc:
        session.rollback()
        log_failure(get_logger(), "recommendation training failed", exc, run_id=run_id)
        return {"chosen": None, "promoted": False, "reason": failure_reason(exc)}


def _load_champion(store: ArtifactStore, name: str) -> StoredModel | None:
    """The current champion; None if there is none or it is unreadable (tampered, partial).

    An unreachable store raises: a candidate must never replace a champion it was not
    compared with.
    """
    try:
        return store.load_champion(name)
    except ArtifactStoreUnavailable:
        raise
    except ArtifactError:
        get_logger().warning("champion unreadable; treated as absent", extra={"model": name})
        return None


def _champion_metrics(stored: StoredModel | None, validation: Any) -> Champion | None:
    """The champion re-scored on this run's validation window (None if there is none).

    A champion without a drift reference is not scored: the run's best candidate replaces
    it (`shop.ml.champion.choose`), so every champion gets one from its first run on.
    """
    if stored is None:
        return None
    if reference_of(stored.metadata) is None:
        return stored.version, None
    name = stored.name
    try:
        predicted = ServingModel.from_stored(stored).predict(validation.merged)
    except (KeyError, ValueError):  # trained on features that no longer exist
        return None
    return stored.version, evaluate(name, validation, predicted)


def _record(
    session: Session,
    store: ArtifactStore,
    run_id: int,
    version: str,
    now: datetime,
    plan: CutoffPlan,
    candidates: list[Candidate],
    champions: dict[str, Champion | None],
) -> Decision:
    name = candidates[0].name
    decision = decide(name, candidates, champions[name])
    best = decision.best
    save_model_version(
        session,
        store,
        ModelVersion(
            name=name,
            version=version,
            kind=best.kind,
            run_id=run_id,
            trained_at=now,
            metrics=_trim(best.metrics),
        ),
        best.files,
        {
            **best.metadata,
            "metrics": best.metrics,
            "trained_at": now.isoformat(),
            "run_id": run_id,
            "candidates": {c.kind: _trim(c.metrics) for c in candidates},
        },
        promote=decision.promote,
    )
    return decision


def _trim(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in _SUMMARY_KEYS if k in metrics}


def _summary(candidates: list[Candidate], decision: Decision) -> dict[str, Any]:
    return {
        "chosen": decision.best.kind,
        "promoted": decision.promote,
        "reason": decision.reason,
        "rejected": decision.rejected,
        "champion_on_this_window": decision.champion_metrics,
        "calibration": decision.best.metrics.get("calibration"),
        "candidates": {c.kind: _trim(c.metrics) for c in candidates},
    }


def latest_run(session: Session) -> TrainingRun | None:
    return session.scalar(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(1))
