"""ONNX graphs compute what their scikit-learn models do, on any history; else the run fails."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support import FIXED_NOW


@pytest.fixture(scope="module")
def empty_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite shop with its catalog, copied by each example."""
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.migrate import upgrade
    from shop.services.seed import seed_catalog

    path = tmp_path_factory.mktemp("parity") / "empty.db"
    engine = build_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine) as session:
        seed_catalog(session)
        session.commit()
    engine.dispose()
    return path


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 10_000),
    days_back=st.integers(0, 720),
    profile=st.sampled_from(["default", "transactions"]),
)
def test_onnx_graphs_match_scikit_learn_on_any_history(
    empty_shop: Path, tmp_path: Path, seed: int, days_back: int, profile: str
) -> None:
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.ml.dataset import build_examples, plan_cutoffs
    from shop.ml.features import compute_features
    from shop.ml.training import fit_candidates, sklearn_predictions
    from shopfn.simulate import simulate

    path = tmp_path / f"{profile}-{seed}-{days_back}.db"
    shutil.copy(empty_shop, path)
    end = FIXED_NOW - timedelta(days=days_back)
    engine = build_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as session:
            users = 80 if profile == "default" else 200
            simulate(session, users=users, days=200, seed=seed, now=end, profile=profile)
            plan = plan_cutoffs(end, 30)
            train = build_examples(session, plan.train, 30)
            frame = compute_features(session, end, active_only=True)
    finally:
        engine.dispose()
    assume(len(set(train.churned.tolist())) == 2)
    # Training itself refuses a graph that disagrees (OnnxParityError); check unseen rows too.
    candidates = fit_candidates(train, plan, seed=seed)
    for name, group in candidates.items():
        for candidate in (c for c in group if c.kind == "gbm"):
            served = candidate.serving().predict(frame)
            expected = sklearn_predictions(candidate, frame)
            scale = 1.0 if name == "churn" else np.maximum(np.abs(expected), 1.0)
            assert np.max(np.abs(served - expected) / scale) <= 1e-4, (name, profile, seed)


def _skewed_export(real: Any) -> Any:
    """`to_onnx` that exports a copy of the model with every leaf value half as large again."""
    import copy

    from shop.ml.onnx_export import _boosters

    def export(model: Any, n_features: int) -> bytes:
        twin = copy.deepcopy(model)
        for booster in _boosters(twin):
            for iteration in booster._predictors:
                for predictor in iteration:
                    predictor.nodes["value"] *= 1.5
        return real(twin, n_features)

    return export


def test_a_run_whose_graph_disagrees_with_scikit_learn_fails_and_promotes_nothing(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import func, select

    import shop.ml.training as training
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.retraining import execute_run
    from shop.ml.runs import get_run, queue_run
    from shop.models import ModelVersion
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        simulate(session, users=90, days=200, seed=3)
        run_id = queue_run(session, "manual").id
    monkeypatch.setattr(training, "to_onnx", _skewed_export(training.to_onnx))
    store = ArtifactStore.local(tmp_path / "artifacts")
    execute_run(run_id, store=store)
    with session_scope() as session:
        run = get_run(session, run_id)
        assert run.status == "failed" and not run.promoted
        assert "ONNX graph disagrees with scikit-learn" in (run.reason or "")
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == 0
    assert store.load_champion("churn") is None and store.load_champion("spend") is None
