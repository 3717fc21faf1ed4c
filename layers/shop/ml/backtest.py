"""Backtest: train on data before a cutoff, predict the horizon after it, compare with reality."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.ml.dataset import CutoffPlan, build_examples
from shop.ml.labels import SPEND_DAYS
from shop.ml.training import fit_candidates, score_candidates
from shop.progress import advance, in_steps

_KEYS = ("auc", "brier", "log_loss", "ece", "mae", "rmse", "spearman", "examples")


@in_steps("backtest", total=4)
def backtest(
    session: Session, cutoff: datetime, horizon_days: int, train_cutoffs: int = 3
) -> dict[str, Any]:
    """Every candidate's metrics on the `horizon_days` after `cutoff` (trained only before it)."""
    step = timedelta(days=max(horizon_days, SPEND_DAYS))
    plan = CutoffPlan(
        train=[cutoff - step * k for k in range(train_cutoffs, 0, -1)],
        validation=cutoff,
        horizon_days=horizon_days,
    )
    train = build_examples(session, plan.train, horizon_days)
    advance()
    test = build_examples(session, [cutoff], horizon_days)
    advance()
    observed = (utcnow() - cutoff).total_seconds() / 86400
    result: dict[str, Any] = {
        **plan.as_dict(),
        "complete": observed >= max(horizon_days, SPEND_DAYS),
        "training_examples": len(train),
        "test_examples": len(test),
    }
    if len(train) == 0 or len(test) == 0 or len(set(train.churned.tolist())) < 2:
        return {**result, "models": None, "reason": "not enough history before the cutoff"}
    candidates = fit_candidates(train, plan)
    advance()
    score_candidates(candidates, test)
    advance()
    result["models"] = {
        name: {c.kind: {k: c.metrics[k] for k in _KEYS if k in c.metrics} for c in group}
        for name, group in candidates.items()
    }
    return result
