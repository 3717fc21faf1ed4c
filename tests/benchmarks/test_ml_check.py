"""The 15-minute retrain check, drift included, with 100,000 orders: <= 50 ms.

Target (issue #16): the check that may queue a `new_data` or `drift` run costs 50 ms or less
with 100,000 orders, so it can judge drift on every check. Measured as a warm Lambda runs
it: one process, one session, the median of 20 checks after a first one (which loads the
champion's drift reference), on SQLite and on PostgreSQL. The shop is simulated 1,000
customers at a time (the default profile: orders and behavior events) until it has
BENCH_CHECK_ORDERS orders (100,000), then trained once; the check then finds no new data and
samples RETRAIN_DRIFT_SAMPLE (300) customers for drift, its full path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from measure import Section
from retrain_check import CHECK_BUDGET_SECONDS, check_cost
from retrain_once import train_once

ORDERS = int(os.environ.get("BENCH_CHECK_ORDERS", "100000"))


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A DATA_DIR of the test's own: each backend's champion, and no other, in its artifacts."""
    from shop.settings import get_settings

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_retrain_check_with_drift_within_50_ms(
    db: str, bench_report: Callable[[str], Section], data_dir: Path
) -> None:
    from sqlalchemy import func, select

    from shop.db import refresh_statistics, session_scope
    from shop.models import BehaviorEvent, Order, User
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    orders = part = 0
    while orders < ORDERS:
        with session_scope() as session:
            simulate(session, users=1000, days=540, seed=part)
            orders = session.scalar(select(func.count()).select_from(Order)) or 0
        part += 1
    with session_scope() as session:
        events = session.scalar(select(func.count()).select_from(BehaviorEvent)) or 0
        users = session.scalar(select(func.count()).select_from(User)) or 0
    outcome, _ = train_once()
    assert outcome.status == "succeeded", outcome.reason
    refresh_statistics()  # as bulk loads and autovacuum do
    cost = check_cost(data_dir / "artifacts")

    section = bench_report(
        f"ML retrain check ({orders:,} orders, {events:,} events, {users:,} customers, {db})"
    )
    section.add("target: the 15-minute check", CHECK_BUDGET_SECONDS, ratio=1.0)
    section.add(
        "check: new-data counts and drift (median)",
        cost.median,
        ratio=cost.median / CHECK_BUDGET_SECONDS,
        target="<= 1.00x",
    )
    section.add("  p90", cost.p90, ratio=cost.p90 / CHECK_BUDGET_SECONDS)
    found = cost.found
    section.notes.append(
        f"drift judged on {found['sampled_users']} sampled customers: largest PSI "
        f"{found['drift_psi']:.3f} ({found['drift_feature']}); {found['new_orders']} new orders"
    )
    ok = cost.median <= CHECK_BUDGET_SECONDS
    section.verdict = "within target" if ok else "OVER TARGET"
    assert ok, f"the check took {cost.median * 1000:.1f} ms (median)"
