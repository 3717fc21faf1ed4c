"""Drift that tells the truth: a fresh champion on an unchanged shop is stable, ageing alone
raises no alarm, and a promotion that doubles order rates is flagged."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from ml_shop import TrainedShop, paid_copy
from support import FIXED_NOW


@pytest.fixture
def shop_copy(trained_shop: TrainedShop, tmp_path: Path) -> TrainedShop:
    """A private copy of the trained shop's database (the artifacts are only read)."""
    shutil.copy(trained_shop.data_dir / "shop.db", tmp_path / "shop.db")
    return TrainedShop(f"sqlite:///{tmp_path / 'shop.db'}", trained_shop.data_dir, 0)


def _drift(shop: TrainedShop, at) -> dict[str, dict]:
    """Each feature's drift row at `at` against the churn champion's stored reference."""
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.drift import population_drift, reference_of
    from shop.ml.features import compute_features

    metadata = ArtifactStore.local(shop.data_dir / "artifacts").load_champion("churn").metadata
    found = reference_of(metadata)
    assert found is not None, "a champion trained today keeps its drift reference"
    reference, as_of = found
    engine = build_engine(shop.url)
    with Session(engine) as session:
        frame = compute_features(session, at, active_only=True)
    engine.dispose()
    rows, _ = population_drift(reference, as_of, frame)
    return {row["feature"]: row for row in rows}


def test_a_fresh_champion_on_an_unchanged_shop_flags_nothing(trained_shop: TrainedShop) -> None:
    from shop.ml.features import FEATURE_NAMES

    rows = _drift(trained_shop, FIXED_NOW)
    assert set(rows) == set(FEATURE_NAMES)
    assert [r for r in rows.values() if r["level"] != "stable"] == []
    assert rows["tenure_days"]["psi"] < 0.01


def test_ageing_alone_raises_no_alarm_on_time_growing_features(trained_shop: TrainedShop) -> None:
    """Three weeks later with nothing new: everyone is older, and that is all."""
    rows = _drift(trained_shop, FIXED_NOW + timedelta(days=21))
    for name in ("tenure_days", "recency_days", "days_since_last_login", "days_since_last_event"):
        assert rows[name]["level"] == "stable", rows[name]
        assert rows[name]["aged"] is True


def _double_recent_orders(shop: TrainedShop, days: int = 30) -> int:
    """A promotion: every order of the last `days` gets a twin an hour apart."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.models import Order

    engine = build_engine(shop.url)
    with Session(engine) as session:
        recent = session.scalars(
            select(Order).where(Order.created_at >= FIXED_NOW - timedelta(days=days))
        ).all()
        for order in recent:
            at = order.created_at + timedelta(hours=1)
            session.add(paid_copy(order, at if at < FIXED_NOW else at - timedelta(hours=2)))
        session.commit()
    engine.dispose()
    return len(recent)


def test_a_promotion_that_doubles_order_rates_is_flagged(shop_copy: TrainedShop) -> None:
    assert _double_recent_orders(shop_copy) > 50
    rows = _drift(shop_copy, FIXED_NOW)
    assert rows["orders_30d"]["level"] == "significant", rows["orders_30d"]
    top = max(rows.values(), key=lambda row: row["psi"])
    assert top["feature"] in ("orders_7d", "orders_30d")  # the change leads the list
