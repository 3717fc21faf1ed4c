"""A simulated shop with trained champions, on the test database: what the ML benchmarks predict on.

Shared by the ML predict benchmark (warm predictions) and the cold start benchmark (predict's
first prediction in a fresh interpreter).
"""

from __future__ import annotations

import os

#: Simulated customers (`BENCH_ML_USERS`; lower it while iterating).
USERS = int(os.environ.get("BENCH_ML_USERS", "2000"))


def trained_shop(users: int = USERS) -> list[int]:
    """Seed the catalog, simulate a year of `users` customers, train and promote champions.

    Returns the ids of the customers with orders, sorted. The champions are stored where the
    settings say (DATA_DIR locally), so a fresh interpreter with this environment loads them.
    """
    from sqlalchemy import select, text

    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.predictor import champions
    from shop.ml.retraining import train_and_promote
    from shop.ml.runs import mark_finished, mark_running, queue_run
    from shop.models import Order
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        simulate(session, users=users, days=365, seed=1)
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
    return user_ids
