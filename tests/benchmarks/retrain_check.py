"""The retrain check timed as a warm Lambda runs it: one process, one session, many checks."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The 15-minute check's budget (issue #16: 50 ms with 100,000 orders), drift included.
CHECK_BUDGET_SECONDS = 0.050


@dataclass(frozen=True)
class CheckCost:
    median: float
    p90: float
    found: dict[str, Any]  # what the last check saw


def check_cost(artifacts: Path, rounds: int = 20) -> CheckCost:
    """Median and p90 seconds of the full check (new-data counts and drift) over `rounds`
    warm checks against the champion under `artifacts`; the first check, which loads the
    champion's drift reference, is left out."""
    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.triggers import Thresholds, evaluate

    store = ArtifactStore.local(artifacts)
    thresholds = Thresholds.from_settings()
    samples = []
    with session_scope() as session:
        for _ in range(rounds + 1):
            start = time.perf_counter()
            found = evaluate(session, utcnow(), thresholds, store)
            samples.append(time.perf_counter() - start)
    # The full path: no new-data trigger cuts it short, and drift was judged.
    assert found["trigger"] is None and found.get("drift_psi") is not None, found
    warm = samples[1:]
    return CheckCost(statistics.median(warm), _p90(warm), found)


def _p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10, method="inclusive")[-1]
