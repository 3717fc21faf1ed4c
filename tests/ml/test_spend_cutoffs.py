"""The spend model's training cutoffs: one per spend window over the churn cutoffs' span."""

from __future__ import annotations

from datetime import timedelta

from support import FIXED_NOW


def test_a_longer_churn_horizon_gives_the_spend_model_a_cutoff_every_spend_window() -> None:
    from shop.ml.dataset import plan_cutoffs

    plan = plan_cutoffs(FIXED_NOW, horizon_days=90, train_cutoffs=3, spend_days=30)
    month = timedelta(days=30)
    assert plan.spend_train == [plan.validation - month * k for k in range(9, 0, -1)]
    assert plan.spend_train[0] == plan.train[0]  # no older history read than churn reads
    # Every spend label window ends by the validation cutoff.
    assert plan.spend_train[-1] + month == plan.validation
    # And a run's record says which cutoffs they were.
    assert plan.as_dict()["spend_train_cutoffs"] == [c.isoformat() for c in plan.spend_train]


def test_the_same_windows_share_the_churn_cutoffs() -> None:
    from shop.ml.dataset import plan_cutoffs

    plan = plan_cutoffs(FIXED_NOW, horizon_days=30, train_cutoffs=3, spend_days=30)
    assert plan.spend_train == plan.train
    short = plan_cutoffs(FIXED_NOW, horizon_days=7, train_cutoffs=3, spend_days=30)
    assert short.spend_train == short.train
