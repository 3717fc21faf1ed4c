"""Retrain on PostgreSQL with at least 1,000,000 behavior events and 100,000 orders.

Target (issue #5): <= 60 s on this 2-core machine, peak memory <= 3 GB; the time of each
stage (load + features + labels, fit, evaluate, upload) is reported as a share of the total.
Customers are simulated 1,000 at a time until both sizes are reached (the simulated shop has
more events per order than the issue's ratio, so it ends with more events than asked for);
BENCH_RETRAIN_EVENTS and BENCH_RETRAIN_ORDERS change the sizes.

Growth (issue #16): one run at 0.25M, 0.5M, 1M, 2M and 4M events (BENCH_RETRAIN_SIZES), the
shop grown in place between sizes with customers and orders in the simulation's proportion;
time and peak memory must grow no worse than linearly (exponent <= 1.1 from the smallest to
the largest size). After each run, the 15-minute retrain check, drift included, is timed in
this process (median of 20 warm checks) and must stay within 50 ms at every size.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from measure import Section, on_postgresql
from retrain_check import CHECK_BUDGET_SECONDS, check_cost
from retrain_once import train_once

EVENTS = int(os.environ.get("BENCH_RETRAIN_EVENTS", "1000000"))
ORDERS = int(os.environ.get("BENCH_RETRAIN_ORDERS", "100000"))
BUDGET_SECONDS = 60.0
BUDGET_GB = 3.0


@on_postgresql
def test_retrain_on_a_million_events(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy import func, select

    from shop.db import session_scope
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
    outcome, total = train_once()
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


#: Event counts of the growth benchmark; customers and orders follow (the simulation's mix).
SIZES = [
    int(s)
    for s in os.environ.get("BENCH_RETRAIN_SIZES", "250000,500000,1000000,2000000,4000000").split(
        ","
    )
]
#: Growth exponent allowed between the smallest and the largest size (1.0 is linear).
MAX_EXPONENT = 1.1
#: Customers simulated per step while the shop grows to the next size.
CHUNK = 250


def _retrain_in_a_fresh_interpreter(data_dir: Path) -> dict:
    env = {**os.environ, "DATA_DIR": str(data_dir), "POWERTOOLS_LOG_LEVEL": "WARNING"}
    env.pop("ARTIFACT_BUCKET", None)
    script = Path(__file__).with_name("retrain_once.py")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _exponent(small: tuple[float, float], large: tuple[float, float]) -> float:
    """b in y = a * n^b through two (n, y) points."""
    return math.log(large[1] / small[1]) / math.log(large[0] / small[0])


@on_postgresql
def test_retrain_grows_no_worse_than_linearly(
    postgres_db: str, bench_report: Callable[[str], Section], tmp_path: Path
) -> None:
    """Time and peak memory of one run at each size, data grown in place between sizes."""
    from sqlalchemy import func, select

    from shop.db import refresh_statistics, session_scope
    from shop.models import BehaviorEvent, Order, User
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    part, results = 0, []
    for size in SIZES:
        events = 0
        while events < size:
            with session_scope() as session:
                simulate(session, users=CHUNK, days=540, seed=1000 + part)
                events = session.scalar(select(func.count()).select_from(BehaviorEvent)) or 0
            part += 1
        with session_scope() as session:
            orders = session.scalar(select(func.count()).select_from(Order)) or 0
            users = session.scalar(select(func.count()).select_from(User)) or 0
        result = _retrain_in_a_fresh_interpreter(tmp_path / "data")
        assert result["status"] == "succeeded", result["reason"]
        refresh_statistics()  # as bulk loads and autovacuum do
        result["check"] = check_cost(tmp_path / "data" / "artifacts")
        results.append((events, orders, users, result))
    section = bench_report("ML retrain growth (PostgreSQL, one fresh interpreter per size)")
    base_events, _, _, base = results[0]
    for events, orders, users, result in results:
        section.add(
            f"{events:,} events, {orders:,} orders, {users:,} customers",
            result["seconds"],
            ratio=result["cpu_seconds"] / base["cpu_seconds"],
            target=f"data x{events / base_events:.2f}, CPU {result['cpu_seconds']:.1f} s, "
            f"peak {result['peak_mb']:,.0f} MB",
        )
    last_events, _, _, last = results[-1]
    # CPU time of the training process: wall clock on a shared machine swings with its load.
    time_exp = _exponent((base_events, base["cpu_seconds"]), (last_events, last["cpu_seconds"]))
    wall_exp = _exponent((base_events, base["seconds"]), (last_events, last["seconds"]))
    memory_exp = _exponent((base_events, base["peak_mb"]), (last_events, last["peak_mb"]))
    section.notes.append(
        f"growth exponent: CPU time {time_exp:.2f} (wall clock {wall_exp:.2f}), "
        f"peak memory {memory_exp:.2f}; ratio column: CPU time"
    )
    per_million = (last["cpu_seconds"] - base["cpu_seconds"]) / ((last_events - base_events) / 1e6)
    mb_per_million = (last["peak_mb"] - base["peak_mb"]) / ((last_events - base_events) / 1e6)
    section.notes.append(
        f"marginal cost: {per_million:.1f} CPU s and {mb_per_million:,.0f} MB per million events"
    )
    for events, _, _, result in results:
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in result["timings"].items() if k != "total")
        section.notes.append(f"{events:,} events: {stages}")
    ok = len(results) < 2 or (time_exp <= MAX_EXPONENT and memory_exp <= MAX_EXPONENT)
    section.verdict = "no worse than linear" if ok else "WORSE THAN LINEAR"

    check = bench_report("ML retrain check (PostgreSQL, median of 20 after the run at each size)")
    check.add("target: the 15-minute check", CHECK_BUDGET_SECONDS, ratio=1.0)
    for events, orders, _, result in results:
        cost = result["check"].median
        check.add(
            f"{orders:,} orders, {events:,} events: counts and drift",
            cost,
            ratio=cost / CHECK_BUDGET_SECONDS,
            target="<= 1.00x",
        )
    check_ok = all(r["check"].median <= CHECK_BUDGET_SECONDS for *_, r in results)
    check.verdict = "within target" if check_ok else "OVER TARGET"
    assert ok, f"time exponent {time_exp:.2f}, memory exponent {memory_exp:.2f}"
    assert check_ok, [round(r["check"].median * 1000, 1) for *_, r in results]
