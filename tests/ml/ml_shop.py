"""A simulated shop with trained champions, and waiting for training runs."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from support import FIXED_NOW


@dataclass(frozen=True)
class TrainedShop:
    """A SQLite shop with a history ending at FIXED_NOW and champions in a local folder."""

    url: str
    data_dir: Path
    run_id: int

    def script_env(self) -> dict[str, str]:
        """The environment of a fresh interpreter serving this shop (local artifacts)."""
        env = {
            **os.environ,
            "DATA_DIR": str(self.data_dir),
            "DATABASE_URL": self.url,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
        env.pop("ARTIFACT_BUCKET", None)
        return env


def build_trained_shop(root: Path, *, users: int = 300, days: int = 240) -> TrainedShop:
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.migrate import upgrade
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.retraining import train_and_promote
    from shop.ml.runs import mark_finished, mark_running, queue_run
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    url = f"sqlite:///{root / 'shop.db'}"
    engine = build_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        seed_catalog(session)
        session.commit()
        simulate(session, users=users, days=days, seed=42, now=FIXED_NOW)
        run_id = queue_run(session, "manual").id
        mark_running(session, run_id)
        outcome = train_and_promote(
            session, run_id, ArtifactStore.local(root / "artifacts"), FIXED_NOW
        )
        mark_finished(
            session, run_id, outcome.status, metrics=outcome.metrics, promoted=outcome.promoted
        )
    engine.dispose()
    return TrainedShop(url=url, data_dir=root, run_id=run_id)


def wait_for_run(run_id: int, timeout: float = 240.0) -> str:
    """The final status of a run, polling the database."""
    from shop.db import new_session
    from shop.models import TrainingRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session = new_session()
        try:
            run = session.get(TrainingRun, run_id)
            status = run.status if run else "missing"
        finally:
            session.close()
        if status not in ("queued", "running"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} still active after {timeout} s")


def paid_copy(order: Any, at: datetime) -> Any:
    """A paid order like `order` (same customer, same amounts) placed at `at`: more orders of
    the same shape, as new data or as a promotion that doubles order rates."""
    from shop.models import Order

    return Order(
        user_id=order.user_id,
        status="paid",
        subtotal=order.subtotal,
        total=order.total,
        item_count=order.item_count,
        shipping_address=order.shipping_address,
        created_at=at,
        updated_at=at,
    )


def train_simulated_shop(client: Any, *, users: int = 90, days: int = 200, seed: int = 8) -> str:
    """A simulated shop with champions from one manual run; an admin's token."""
    from support import make_admin

    from shop.db import session_scope
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        simulate(session, users=users, days=days, seed=seed)
    admin = make_admin(client)
    run_id = client.post("/ml/retrain", json={}, token=admin.access_token).json()["run_id"]
    assert wait_for_run(run_id) == "succeeded"
    return admin.access_token
