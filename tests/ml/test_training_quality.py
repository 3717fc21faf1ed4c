"""Models trained on a generated history are honestly better than chance and the baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ml_shop import TrainedShop
from sqlalchemy import create_engine
from sqlalchemy.orm import Session


def _run_metrics(shop: TrainedShop) -> dict:
    engine = create_engine(shop.url)
    with Session(engine) as session:
        from shop.models import TrainingRun

        run = session.get(TrainingRun, shop.run_id)
        assert run is not None and run.status == "succeeded", run and run.reason
        metrics = run.metrics
    engine.dispose()
    return metrics


def test_churn_auc_is_clearly_above_chance_on_a_generated_history(
    trained_shop: TrainedShop,
) -> None:
    churn = _run_metrics(trained_shop)["churn"]
    assert churn["candidates"]["gbm"]["auc"] > 0.7
    assert 0 < churn["candidates"]["gbm"]["brier"] < 0.25


def test_spend_model_beats_the_rfm_baseline(trained_shop: TrainedShop) -> None:
    spend = _run_metrics(trained_shop)["spend"]
    chosen = spend["candidates"][spend["chosen"]]
    assert chosen["rmse"] < spend["candidates"]["rfm"]["rmse"]
    assert chosen["spearman"] > 0.3


def test_run_records_windows_sizes_and_stage_timings(trained_shop: TrainedShop) -> None:
    metrics = _run_metrics(trained_shop)
    data = metrics["data"]
    assert len(data["train_cutoffs"]) == 3
    assert data["train_cutoffs"] == sorted(data["train_cutoffs"])
    assert data["train_cutoffs"][-1] < data["validation_cutoff"]
    assert data["training_examples"] > data["validation_examples"] > 50
    assert set(metrics["timings_seconds"]) >= {"load_features_labels", "fit", "evaluate", "upload"}


def test_artifact_metadata_describes_the_model(trained_shop: TrainedShop) -> None:
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.features import FEATURE_NAMES

    store = ArtifactStore.local(trained_shop.data_dir / "artifacts")
    churn = store.load_champion("churn")
    assert churn is not None
    meta = churn.metadata
    assert meta["features"] == list(FEATURE_NAMES)
    assert meta["libraries"]["scikit-learn"] and meta["libraries"]["onnxruntime"]
    assert meta["windows"]["horizon_days"] == 30
    assert set(meta["files"]) <= set(churn.files)
    pointer = json.loads(
        (trained_shop.data_dir / "artifacts/models/churn/champion.json").read_text()
    )
    assert pointer["version"] == churn.version


@pytest.fixture(scope="module")
def gbm_candidates(fitted_candidates: tuple[dict, object]) -> tuple[dict, object]:
    """The freshly fitted gradient-boosting candidates, and the shop's current features."""
    candidates, frame = fitted_candidates
    return {
        name: next(c for c in group if c.kind == "gbm") for name, group in candidates.items()
    }, frame


@pytest.mark.parametrize("name", ["churn", "spend"])
def test_onnx_graph_matches_scikit_learn_within_1e_4(gbm_candidates: tuple, name: str) -> None:
    from shop.ml.training import sklearn_predictions

    candidates, frame = gbm_candidates
    candidate = candidates[name]
    served = candidate.serving().predict(frame)
    expected = sklearn_predictions(candidate, frame)
    # Probabilities within 1e-4; amounts within 1e-4 of max(1, amount) (a hundredth of a cent).
    scale = 1.0 if name == "churn" else np.maximum(np.abs(expected), 1.0)
    assert np.max(np.abs(served - expected) / scale) <= 1e-4
    # One customer at a time (the predict function's path) gives the same.
    for row in range(0, len(frame.user_ids), max(len(frame.user_ids) // 7, 1)):
        one = candidate.serving().predict(frame.subset(np.arange(len(frame.user_ids)) == row))
        assert abs(one[0] - served[row]) <= 1e-4 * (1 if name == "churn" else max(1, served[row]))
