"""Training examples: features at several stacked cutoffs, each with the labels that followed.

Splits are by time only: the validation cutoff is the latest whose horizon has fully
passed, and every training cutoff's label window ends before the validation cutoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.ml.features import FEATURE_NAMES, FeatureFrame, compute_features
from shop.ml.labels import SPEND_DAYS, churn_and_spend
from shop.ml.paid import kept_money
from shop.models import Order


@dataclass(frozen=True)
class Examples:
    """Stacked examples: one row per (user, cutoff)."""

    frames: list[FeatureFrame]
    churned: NDArray[np.float64]
    spend: NDArray[np.float64]

    @property
    def matrix(self) -> NDArray[np.float64]:
        if not self.frames:
            return np.zeros((0, len(FEATURE_NAMES)))
        return np.vstack([frame.matrix for frame in self.frames])

    @property
    def merged(self) -> FeatureFrame:
        """All rows as one frame (its `as_of` is the latest cutoff)."""
        return FeatureFrame(
            as_of=max(frame.as_of for frame in self.frames),
            user_ids=np.concatenate([frame.user_ids for frame in self.frames]),
            matrix=self.matrix,
        )

    def __len__(self) -> int:
        return len(self.churned)


@dataclass(frozen=True)
class CutoffPlan:
    train: list[datetime]
    validation: datetime
    horizon_days: int
    spend_days: int = SPEND_DAYS

    def as_dict(self) -> dict[str, object]:
        return {
            "train_cutoffs": [c.isoformat() for c in self.train],
            "validation_cutoff": self.validation.isoformat(),
            "horizon_days": self.horizon_days,
            "spend_days": self.spend_days,
            "spend_train_cutoffs": [c.isoformat() for c in self.spend_train],
        }

    @property
    def spend_train(self) -> list[datetime]:
        """Training cutoffs of the spend model: one per spend window over the same span.

        Spend labels need only `spend_days` after a cutoff, so with a longer churn horizon
        the history the churn cutoffs span holds more spend windows, and every one of them is
        a purchase to learn from: at a 90-day horizon three times as many (issue 12: on a
        transaction log, three cutoffs' buyers were too few to rank spend as well as BG/NBD).
        """
        if not self.train or self.spend_days >= self.horizon_days:
            return list(self.train)
        step = timedelta(days=self.spend_days)
        count = (self.validation - self.train[0]) // step
        return [self.validation - step * k for k in range(count, 0, -1)]

    @property
    def label_days(self) -> int:
        """How long after a cutoff its labels need: the longer of the two windows."""
        return max(self.horizon_days, self.spend_days)


def training_cutoffs(validation: datetime, label_days: int, count: int) -> list[datetime]:
    """`count` cutoffs before `validation`, each one's label window ending by the next one."""
    step = timedelta(days=label_days)
    return [validation - step * k for k in range(count, 0, -1)]


def plan_cutoffs(
    now: datetime, horizon_days: int, train_cutoffs: int = 3, spend_days: int = SPEND_DAYS
) -> CutoffPlan:
    """The validation cutoff (whose label window ended by `now`) and earlier training ones."""
    label_days = max(horizon_days, spend_days)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    validation = day - timedelta(days=label_days)
    train = training_cutoffs(validation, label_days, train_cutoffs)
    return CutoffPlan(train, validation, horizon_days, spend_days)


def users_with_history(session: Session, before: datetime, *, up_to: int | None = None) -> int:
    """Customers with a kept order before `before`: fewer than the settings' minimum and a run
    is skipped. `up_to` stops counting there (the retrain check asks only "enough yet?")."""
    customers = (
        select(Order.user_id)
        .where(Order.created_at < before, kept_money(Order.__table__), Order.total >= 0)
        .distinct()
    )
    if up_to is not None:
        customers = customers.limit(up_to)
    return int(session.scalar(select(func.count()).select_from(customers.subquery())) or 0)


def build_examples(
    session: Session,
    cutoffs: Sequence[datetime],
    horizon_days: int,
    spend_days: int = SPEND_DAYS,
) -> Examples:
    """Features at each cutoff for the active population, with the labels after it."""
    frames: list[FeatureFrame] = []
    churned: list[NDArray[np.float64]] = []
    spend: list[NDArray[np.float64]] = []
    for cutoff in cutoffs:
        frame = compute_features(session, cutoff, active_only=True)
        if len(frame.user_ids) == 0:
            continue
        churn, value = churn_and_spend(session, cutoff, frame.user_ids, horizon_days, spend_days)
        frames.append(frame)
        churned.append(churn)
        spend.append(value)
    if not frames:
        return Examples(frames=[], churned=np.zeros(0), spend=np.zeros(0))
    return Examples(frames=frames, churned=np.concatenate(churned), spend=np.concatenate(spend))


def spend_examples(session: Session, plan: CutoffPlan, train: Examples) -> Examples:
    """The spend model's training examples: `train` when the cutoffs are the same.

    Their churn labels are over the spend window, so no label looks past the validation cutoff.
    """
    if plan.spend_train == plan.train:
        return train
    return build_examples(session, plan.spend_train, plan.spend_days, plan.spend_days)
