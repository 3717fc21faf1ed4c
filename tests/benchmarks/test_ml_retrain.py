"""Retrain on PostgreSQL with at least 1,000,000 behavior events and 100,000 orders.

Target (issue #5): <= 60 s on this 2-core machine, peak memory <= 3 GB; the time of each
stage (load + features + labels, fit, evaluate, upload) is reported as a share of the total.
Customers are simulated 1,000 at a time until both sizes are reached (the simulated shop has
more events per order than the issue's ratio, so it ends with more events than asked for);
BENCH_RETRAIN_EVENTS and BENCH_RETRAIN_ORDERS change the sizes.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable

from measure import Section, on_postgresql

EVENTS = int(os.environ.get("BENCH_RETRAIN_EVENTS", "1000000"))
ORDERS = int(os.environ.get("BENCH_RETRAIN_ORDERS", "100000"))
BUDGET_SECONDS = 60.0
BUDGET_GB = 3.0


@on_postgresql
def test_retrain_on_a_million_events(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy import func, select

    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.retraining import train_and_promote
    from shop.ml.runs import mark_finished, mark_running, queue_run
    from shop.models import BehaviorEvent, Order
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    events = orders = part = 0
    while events < EVENTS or orders < ORDERS:
        with session_scope() as session:
            simulate(session, users=1000, days=540, seed=part)
            events = session.scalar(select(func.count()).select_from(BehaviorEvent)) or 0
            orders = session.scalar(select(func.count()).select_from(Order)) or 0
        part += 1
    with session_scope() as session:
        run_id = queue_run(session, "manual").id
        mark_running(session, run_id)
    with session_scope() as session:
        start = time.perf_counter()
        outcome = train_and_promote(session, run_id, ArtifactStore.from_settings(), utcnow())
        total = time.perf_counter() - start
        mark_finished(session, run_id, outcome.status, metrics=outcome.metrics)
    assert outcome.status == "succeeded", outcome.reason
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    section = bench_report(f"ML retrain ({events:,} events, {orders:,} orders, PostgreSQL)")
    section.add("target budget", BUDGET_SECONDS, ratio=1.0)
    section.add("retrain total", total, ratio=total / BUDGET_SECONDS, target="<= 1.00x")
    for stage, seconds in outcome.metrics["timings_seconds"].items():
        if stage != "total":
            section.add(f"  {stage}", seconds, ratio=seconds / total)
    section.notes.append(f"peak RSS of the process {peak_gb:.2f} GB (target <= {BUDGET_GB} GB)")
    data = outcome.metrics["data"]
    section.notes.append(
        f"examples: {data['training_examples']:,} train, {data['validation_examples']:,} validation"
    )
    section.notes.append(f"{part * 1000:,} simulated customers")
    ok = total <= BUDGET_SECONDS and peak_gb <= BUDGET_GB
    section.verdict = "within target" if ok else "OVER TARGET"
    assert ok, f"retrain took {total:.1f} s with a peak of {peak_gb:.2f} GB"
