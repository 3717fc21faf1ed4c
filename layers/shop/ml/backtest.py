"""Backtest: train on data before a cutoff, predict the windows after it, compare with reality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.ml.champion import decide
from shop.ml.dataset import CutoffPlan, build_examples, spend_examples, training_cutoffs
from shop.ml.labels import SPEND_DAYS
from shop.ml.recommend_eval import backtest_recommendations
from shop.ml.training import fit_candidates, score_candidates
from shop.models import Order
from shop.progress import advance, in_steps

_KEYS = ("auc", "brier", "log_loss", "ece", "mae", "rmse", "spearman", "examples")


class BacktestRefused(ValueError):
    """The cutoff or the windows do not fit the shop's history; the message says why."""


@dataclass(frozen=True)
class HistorySpan:
    """First and last order of the shop (None when it has none)."""

    first: datetime | None
    last: datetime | None


def history_span(session: Session) -> HistorySpan:
    first, last = session.execute(
        select(func.min(Order.created_at), func.max(Order.created_at))
    ).one()
    return HistorySpan(first, last)


@in_steps("backtest", total=5)
def backtest(
    session: Session,
    cutoff: datetime,
    horizon_days: int,
    train_cutoffs: int = 3,
    spend_days: int = SPEND_DAYS,
) -> dict[str, Any]:
    """Every candidate's metrics on the windows after `cutoff` (trained only before it).

    `chosen` is, for churn and spend, the candidate the champion rule picks on that window;
    `recommendations` scores "Picked for you" and "Buy it again" against best sellers
    (`shop.ml.recommend_eval`).
    BacktestRefused when the cutoff is not inside the shop's order history.
    """
    if horizon_days < 1 or spend_days < 1:
        raise BacktestRefused("the horizon and the spend window must be at least 1 day")
    span = history_span(session)
    if span.first is None or span.last is None:
        raise BacktestRefused("the shop has no orders yet: nothing to backtest")
    if not span.first < cutoff <= span.last:
        raise BacktestRefused(
            f"the cutoff {cutoff:%Y-%m-%d} is outside the order history "
            f"({span.first:%Y-%m-%d} to {span.last:%Y-%m-%d}): pick a date between them"
        )
    plan = CutoffPlan(
        train=training_cutoffs(cutoff, max(horizon_days, spend_days), train_cutoffs),
        validation=cutoff,
        horizon_days=horizon_days,
        spend_days=spend_days,
    )
    train = build_examples(session, plan.train, horizon_days, spend_days)
    spend_train = spend_examples(session, plan, train)
    advance()
    test = build_examples(session, [cutoff], horizon_days, spend_days)
    advance()
    result: dict[str, Any] = {
        **plan.as_dict(),
        # Labels after the last order are all "no purchase": the windows must fit the data.
        "complete": cutoff + timedelta(days=plan.label_days) <= span.last,
        "history": {"first_order": span.first.isoformat(), "last_order": span.last.isoformat()},
        "training_examples": len(train),
        "test_examples": len(test),
        "recommendations": backtest_recommendations(session, cutoff, horizon_days),
    }
    advance()
    if len(train) == 0 or len(test) == 0 or len(set(train.churned.tolist())) < 2:
        return {
            **result,
            "models": None,
            "chosen": None,
            "reason": "not enough history before the cutoff",
        }
    candidates = fit_candidates(train, plan, spend_train=spend_train)
    advance()
    score_candidates(candidates, test)
    advance()
    result["models"] = {
        name: {c.kind: _trim(c.metrics) for c in group} for name, group in candidates.items()
    }
    result["chosen"] = {}
    for name, group in candidates.items():
        decision = decide(name, group, None)
        result["chosen"][name] = {
            "kind": decision.best.kind if decision.promote else None,
            "metrics": _trim(decision.best.metrics) if decision.promote else None,
            "reason": decision.reason,
            "rejected": decision.rejected,
        }
    return result


def _trim(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in _KEYS if k in metrics}
