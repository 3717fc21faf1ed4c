"""One training run in a fresh interpreter, for the retrain growth benchmark.

Run as `python retrain_once.py` with DATABASE_URL and DATA_DIR set; prints one JSON line:
the run's wall clock and this process's CPU time for it (which a busy machine barely moves),
its stage timings and the process's peak RSS (so each size's peak is its own).
"""

from __future__ import annotations

import json
import resource
import time
from typing import Any


def train_once() -> tuple[Any, float]:
    """One manual run on the configured database and artifact store: (outcome, seconds)."""
    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.retraining import train_and_promote
    from shop.ml.runs import mark_finished, mark_running, queue_run

    with session_scope() as session:
        run_id = queue_run(session, "manual").id
        mark_running(session, run_id)
    with session_scope() as session:
        start = time.perf_counter()
        outcome = train_and_promote(session, run_id, ArtifactStore.from_settings(), utcnow())
        seconds = time.perf_counter() - start
        mark_finished(session, run_id, outcome.status, metrics=outcome.metrics)
    return outcome, seconds


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    cpu = _cpu_seconds()
    outcome, seconds = train_once()
    cpu = _cpu_seconds() - cpu
    result = {
        "status": outcome.status,
        "reason": outcome.reason,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "timings": outcome.metrics.get("timings_seconds", {}),
        "data": outcome.metrics.get("data", {}),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
