"""How far back the churn and spend models read, without numpy.

The users function checks this before it purges old behavior events, and it has no numpy:
so the windows live here and `features`/`labels` take them from here.
"""

from __future__ import annotations

#: Event and order counts are taken over these many days before each cutoff.
FEATURE_WINDOWS: tuple[int, ...] = (7, 30, 90)
#: Spend is labelled over this many days after a cutoff.
SPEND_DAYS = 30


def feature_lookback_days(horizon_days: int, train_cutoffs: int) -> int:
    """Days before now of the oldest event a training run still counts.

    The validation cutoff is one step (the longer of the churn horizon and SPEND_DAYS) before
    today's midnight, the training cutoffs `train_cutoffs` steps before that, and each counts
    events over the longest window before it; one more day covers the rounding to midnight.
    """
    step = max(horizon_days, SPEND_DAYS)
    return step * (train_cutoffs + 1) + max(FEATURE_WINDOWS) + 1
