"""A champion trained before drift references were kept: the 15-minute check queues a run,
and that run replaces it, so every champion ends up with the reference drift is judged on."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from ml_shop import TrainedShop
from support import FIXED_NOW

from shop.ml.drift import NO_REFERENCE


@pytest.fixture
def legacy_shop(trained_shop: TrainedShop, tmp_path: Path) -> Any:
    """A private copy of the trained shop whose champions' metadata lack `drift_reference`,
    as the models trained before it was kept; (shop, store)."""
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.predictor import MODEL_NAMES

    shutil.copy(trained_shop.data_dir / "shop.db", tmp_path / "shop.db")
    shutil.copytree(trained_shop.data_dir / "artifacts", tmp_path / "artifacts")
    store = ArtifactStore.local(tmp_path / "artifacts")
    for name in MODEL_NAMES:
        old = store.load_champion(name)
        assert old is not None and "drift_reference" in old.metadata
        kept = {k: v for k, v in old.metadata.items() if k not in ("drift_reference", "files")}
        store.save_version(name, old.version, old.files, kept)  # rewritten as it used to be
        store.set_champion(name, old.version)
    return TrainedShop(f"sqlite:///{tmp_path / 'shop.db'}", tmp_path, trained_shop.run_id), store


def test_the_check_queues_a_run_for_a_model_without_a_drift_reference(legacy_shop: Any) -> None:
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.ml import triggers
    from shop.ml.triggers import Thresholds, evaluate

    shop, store = legacy_shop
    triggers._references.clear()
    engine = build_engine(shop.url)
    with Session(engine) as session:
        found = evaluate(session, FIXED_NOW, Thresholds(0.25, 0.25, 300), store)
    engine.dispose()
    assert found["trigger"] == "drift", found
    assert found["drift_note"] == NO_REFERENCE and found["drift_psi"] is None
    assert f"run {shop.run_id}" in found["reason"] and NO_REFERENCE in found["reason"]


def test_the_next_run_replaces_a_champion_without_a_drift_reference(legacy_shop: Any) -> None:
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.ml import triggers
    from shop.ml.drift import reference_of
    from shop.ml.retraining import train_and_promote
    from shop.ml.runs import mark_finished, mark_running, queue_run
    from shop.ml.triggers import Thresholds, evaluate

    shop, store = legacy_shop
    old = store.load_champion("churn").version
    engine = build_engine(shop.url)
    with Session(engine) as session:
        run_id = queue_run(session, "drift").id
        mark_running(session, run_id)
        outcome = train_and_promote(session, run_id, store, FIXED_NOW)
        mark_finished(
            session, run_id, outcome.status, metrics=outcome.metrics, promoted=outcome.promoted
        )
        assert outcome.status == "succeeded", outcome.reason
        assert f"replaces champion {old}, {NO_REFERENCE}" in outcome.reason, outcome.reason
        champion = store.load_champion("churn")
        assert champion.version != old and reference_of(champion.metadata) is not None
        triggers._references.clear()
        found = evaluate(session, FIXED_NOW, Thresholds(0.25, 0.25, 300), store)
    engine.dispose()
    assert found["trigger"] is None and found["drift_psi"] is not None, found
