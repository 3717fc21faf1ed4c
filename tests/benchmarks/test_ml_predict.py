"""Predict function on PostgreSQL: cold start vs importing scikit-learn, warm latency, batch.

Targets (issues #5 and #23): cold start to first prediction <= 0.6x `from sklearn.ensemble
import HistGradientBoostingClassifier` alone; warm single-user prediction p99 <= 5 ms including
feature queries; 1,000 users <= 300 ms; model-only inference of one row p99 <= 100 us.
Each is asserted after the table is printed, so a regression fails the run.

Cold start: each sample is a fresh interpreter, `cold_start_probe.py predict <path>` (import
the handler through the local loader, load the champions, answer one prediction) or the
scikit-learn import, timed from spawn until it prints READY (its teardown is not a cold
start). Both share one bytecode cache filled by a warm-up round, as a Lambda package built
with compiled bytecode would; rounds alternate, and the medians are compared. The access
token is issued here: signing is the users function's work, not the predict function's.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from cold_start_probe import READY
from measure import Section, fresh_interpreter, fresh_interpreter_env, on_postgresql, percentile

USERS = int(os.environ.get("BENCH_ML_USERS", "2000"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "11"))
PROBE = Path(__file__).with_name("cold_start_probe.py")
SKLEARN = (
    f"from sklearn.ensemble import HistGradientBoostingClassifier; print({READY!r}, flush=True)"
)
#: The cold start as a ratio to the scikit-learn import (issue #23; its floor measured at
#: 0.57x), the rest in seconds (issue #5).
COLD_START_RATIO = 0.60
WARM_P99 = 0.005
BATCH = 0.300
MODEL_ONLY_P99 = 0.0001


def _at_most(seconds: float) -> str:
    return f"<= {seconds * 1000:g} ms"


def _cold_starts(user_id: int, root: Path) -> dict[str, float]:
    """Median seconds to READY of the predict probe and of the scikit-learn import."""
    from shop.tokens import issue_access_token

    token, _ = issue_access_token(user_id, "customer")  # a simulated customer asks about itself
    env = fresh_interpreter_env(root)  # DATABASE_URL and DATA_DIR as in this process
    env["PROBE_AUTHORIZATION"] = f"Bearer {token}"
    commands = {
        "sklearn": [sys.executable, "-c", SKLEARN],
        "predict": [sys.executable, str(PROBE), "predict", f"/ml/predictions/users/{user_id}"],
    }
    for command in commands.values():  # warm-up: fills the bytecode cache and the OS file cache
        fresh_interpreter(command, env, ready_line=READY)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(COLD_RUNS):
        for name, command in commands.items():
            samples[name].append(fresh_interpreter(command, env, ready_line=READY)["ready"])
    return {name: statistics.median(times) for name, times in samples.items()}


@on_postgresql
def test_predict_cold_warm_batch_and_model_only(
    postgres_db: str, bench_report: Callable[[str], Section], tmp_path: Path
) -> None:
    from sqlalchemy import select, text

    from shop.coltypes import utcnow
    from shop.db import new_session, session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.features import compute_features
    from shop.ml.predictor import champions, predict_user, predict_users
    from shop.ml.retraining import train_and_promote
    from shop.ml.runs import mark_finished, mark_running, queue_run
    from shop.models import Order
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        simulate(session, users=USERS, days=365, seed=1)
    with session_scope() as session:
        run_id = queue_run(session, "manual").id
        mark_running(session, run_id)
        outcome = train_and_promote(session, run_id, ArtifactStore.from_settings(), utcnow())
        mark_finished(session, run_id, outcome.status, metrics=outcome.metrics)
        user_ids = sorted(set(session.scalars(select(Order.user_id))))
    assert outcome.status == "succeeded", outcome.reason
    with session_scope() as session:
        # Planner statistics, as autovacuum keeps them in any live database; without them
        # PostgreSQL guesses a handful of cancellations and scans them all for one user.
        session.execute(text("ANALYZE"))
    champions.clear()
    section = bench_report("ML predict (PostgreSQL)")

    cold = _cold_starts(user_ids[0], tmp_path)
    cold_ratio = cold["predict"] / cold["sklearn"]
    section.add("import sklearn HistGradientBoostingClassifier", cold["sklearn"], ratio=1.0)
    section.add(
        "cold start: import handler, load model, 1 prediction",
        cold["predict"],
        ratio=cold_ratio,
        target=f"<= {COLD_START_RATIO:.2f}x",
    )

    session = new_session()
    asyncio.set_event_loop(asyncio.new_event_loop())
    predict_user(session, user_ids[0])  # warm: models loaded, connection open
    single = []
    for i in range(500):
        start = time.perf_counter()
        predict_user(session, user_ids[i % len(user_ids)])
        single.append(time.perf_counter() - start)
    warm_p99 = percentile(single, 0.99)
    section.add("warm single-user prediction p50", statistics.median(single))
    section.add("warm single-user prediction p99", warm_p99, target=_at_most(WARM_P99))

    batch_ids = user_ids[:1000]
    batches = []
    for _ in range(7):
        start = time.perf_counter()
        found, _ = predict_users(session, batch_ids)
        batches.append(time.perf_counter() - start)
    assert len(found) == len(batch_ids)
    batch = statistics.median(batches)
    section.add(f"batch of {len(batch_ids)} users (median)", batch, target=_at_most(BATCH))

    model = champions.get()["churn"]
    frame = compute_features(session, utcnow(), [user_ids[0]])
    session.close()
    from shop.ml.scoring import model_input

    row = model_input(model.metadata, frame)
    onnx_only, with_prep = [], []
    for _ in range(3000):
        start = time.perf_counter()
        model.sessions.get("model.onnx") and model.sessions["model.onnx"].run(None, {"input": row})
        onnx_only.append(time.perf_counter() - start)
        start = time.perf_counter()
        model.predict(frame)
        with_prep.append(time.perf_counter() - start)
    model_p99 = percentile(with_prep, 0.99)
    section.add(f"model-only inference, 1 row p50 ({model.kind})", statistics.median(with_prep))
    section.add(
        f"model-only inference, 1 row p99 ({model.kind})",
        model_p99,
        target=_at_most(MODEL_ONLY_P99),
    )
    if "model.onnx" in model.sessions:
        section.add("  ONNX Runtime session.run alone, p50", statistics.median(onnx_only))
        section.add("  ONNX Runtime session.run alone, p99", percentile(onnx_only, 0.99))
    section.notes.append(f"{len(user_ids)} users with orders; churn champion {model.kind}")

    met = {
        "cold start": cold_ratio <= COLD_START_RATIO,
        "warm single-user p99": warm_p99 <= WARM_P99,
        "batch": batch <= BATCH,
        "model-only inference p99": model_p99 <= MODEL_ONLY_P99,
    }
    misses = [name for name, ok in met.items() if not ok]
    section.verdict = "all within target" if not misses else f"OVER TARGET: {', '.join(misses)}"
    print("\n" + section.render())
    assert not misses, f"ML predict over target: {', '.join(misses)}"
