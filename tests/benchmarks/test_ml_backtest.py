"""Backtest of a transaction log: at least 25,000 customers and 100,000 orders in <= 60 s.

Target (issue 12): `shopfn ml backtest --horizon-days 90` on a history shaped like a real
retail log (`simulate --profile transactions`, PostgreSQL) takes 60 s or less, from the
feature queries to every candidate scored. Customers are simulated 2,500 at a time, all
ending at the same instant, until both sizes are reached; BENCH_BACKTEST_CUSTOMERS and
BENCH_BACKTEST_ORDERS change the sizes. The models' scores are reported too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from measure import Section, on_postgresql

CUSTOMERS = int(os.environ.get("BENCH_BACKTEST_CUSTOMERS", "25000"))
ORDERS = int(os.environ.get("BENCH_BACKTEST_ORDERS", "100000"))
BUDGET_SECONDS = 60.0
END = datetime(2026, 6, 30, 12, tzinfo=UTC)
DAYS = 540


@on_postgresql
def test_backtest_of_a_transaction_log(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy import func, select

    from shop.db import session_scope
    from shop.ml.backtest import backtest
    from shop.models import Order, User
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    customers = orders = part = 0
    while customers < CUSTOMERS or orders < ORDERS:
        with session_scope() as session:
            simulate(session, users=2500, days=DAYS, seed=part, now=END, profile="transactions")
            customers = session.scalar(select(func.count()).select_from(User)) or 0
            orders = session.scalar(select(func.count()).select_from(Order)) or 0
        part += 1
    cutoff = END - timedelta(days=DAYS - 270)
    # The libraries' import is a fixed cost paid once per process (and, with
    # PYTHONDONTWRITEBYTECODE, a recompile each time): not part of the backtest's time.
    import onnxruntime  # noqa: F401
    import scipy.optimize  # noqa: F401
    import skl2onnx  # noqa: F401
    import sklearn.calibration
    import sklearn.ensemble  # noqa: F401

    with session_scope() as session:
        start = time.perf_counter()
        result = backtest(session, cutoff.replace(hour=0), 90)
        total = time.perf_counter() - start
    assert result["models"] is not None, result.get("reason")
    section = bench_report(f"ML backtest ({customers:,} customers, {orders:,} orders, PostgreSQL)")
    section.add("target budget", BUDGET_SECONDS, ratio=1.0)
    section.add("backtest, 90-day horizon", total, ratio=total / BUDGET_SECONDS, target="<= 1.00x")
    section.notes.append(
        f"examples: {result['training_examples']:,} train, {result['test_examples']:,} test"
    )
    for name, kinds in result["models"].items():
        metric = "auc" if name == "churn" else "spearman"
        scores = ", ".join(f"{kind} {m[metric]:.3f}" for kind, m in kinds.items())
        section.notes.append(f"{name} {metric}: {scores}; chosen {result['chosen'][name]['kind']}")
    ok = total <= BUDGET_SECONDS
    section.verdict = "within target" if ok else "OVER TARGET"
    assert ok, f"backtest took {total:.1f} s"
