"""Predict function on PostgreSQL, warm: single-user latency, a batch, the model alone.

Targets (issue #5): warm single-user prediction p99 <= 5 ms including feature queries; 1,000
users <= 300 ms; model-only inference of one row p99 <= 100 us. Each is asserted after the
table is printed, so a regression fails the run. Predict's cold start (its first prediction
against the scikit-learn import, issue #23) is measured with every other cold start, in
test_cold_start.py.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

from measure import Section, on_postgresql, percentile
from ml_bench_shop import trained_shop

WARM_P99 = 0.005
BATCH = 0.300
MODEL_ONLY_P99 = 0.0001


def _at_most(seconds: float) -> str:
    return f"<= {seconds * 1000:g} ms"


@on_postgresql
def test_predict_warm_batch_and_model_only(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from shop.coltypes import utcnow
    from shop.db import new_session
    from shop.ml.features import compute_features
    from shop.ml.predictor import champions, predict_user, predict_users

    user_ids = trained_shop()
    section = bench_report("ML predict, warm (PostgreSQL)")

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
        "warm single-user p99": warm_p99 <= WARM_P99,
        "batch": batch <= BATCH,
        "model-only inference p99": model_p99 <= MODEL_ONLY_P99,
    }
    misses = [name for name, ok in met.items() if not ok]
    section.verdict = "all within target" if not misses else f"OVER TARGET: {', '.join(misses)}"
    print("\n" + section.render())
    assert not misses, f"ML predict over target: {', '.join(misses)}"
