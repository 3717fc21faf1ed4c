"""Fit the candidates of one run: gradient boosting models and the two baselines.

Every candidate is scored on the validation window through `ServingModel`, i.e. through the
exact ONNX graph or parameters that would be served.
"""

from __future__ import annotations

import pickle
import platform
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shop.ml.artifacts import StoredModel
from shop.ml.baselines import ClvModel, RfmModel
from shop.ml.dataset import CutoffPlan, Examples
from shop.ml.evaluation import PRIMARY_METRIC, churn_metrics, spend_metrics
from shop.ml.features import FEATURE_NAMES, FeatureFrame
from shop.ml.labels import SPEND_DAYS
from shop.ml.monitoring_stats import reference_distribution
from shop.ml.onnx_export import snap_thresholds_to_float32, to_onnx
from shop.ml.scoring import CLV_FEATURES, ServingModel, model_input

MODEL_NAMES: tuple[str, ...] = ("churn", "spend")
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime")


@dataclass
class Candidate:
    """A fitted model of one kind for one name, with its files and validation metrics."""

    name: str
    kind: str
    files: dict[str, bytes]
    metadata: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)

    def serving(self) -> ServingModel:
        stored = StoredModel(self.name, "candidate", self.metadata, self.files)
        return ServingModel.from_stored(stored)

    @property
    def score(self) -> float | None:
        value = self.metrics.get(PRIMARY_METRIC[self.name][0])
        return None if value is None else float(value)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def _classifier(seed: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    booster = HistGradientBoostingClassifier(
        max_iter=120,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    # Platt scaling fitted on out-of-fold predictions; one booster is kept (ensemble=False)
    # so the served graph stays small and fast.
    return CalibratedClassifierCV(booster, method="sigmoid", cv=3, ensemble=False)


def _regressor(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=120,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=20,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )


def fit_candidates(
    train: Examples, plan: CutoffPlan, *, seed: int = 7
) -> dict[str, list[Candidate]]:
    """Baselines and gradient-boosting candidates for churn and spend (not yet scored)."""
    import sklearn.ensemble  # noqa: F401 - load OpenMP first, or the limit below finds nothing
    from threadpoolctl import threadpool_limits

    # OpenMP threads spin-wait: on a busy or small machine one thread is many times faster.
    with threadpool_limits(limits=1):
        return _fit_candidates(train, plan, seed)


def _fit_candidates(train: Examples, plan: CutoffPlan, seed: int) -> dict[str, list[Candidate]]:
    frame = train.merged
    latest = train.frames[-1]
    x, tx, t_age, m = latest.clv_inputs()
    clv = ClvModel.fit(x, tx, t_age, m)
    common = {
        "features": list(FEATURE_NAMES),
        "horizon_days": plan.horizon_days,
        "spend_days": SPEND_DAYS,
        "windows": plan.as_dict(),
        "libraries": library_versions(),
        "training_examples": len(train),
        "feature_reference": reference_distribution(frame),
    }
    rfm = RfmModel.fit(
        frame.column("recency_days"),
        frame.column("frequency"),
        frame.column("monetary_total"),
        train.churned,
        train.spend,
    )
    candidates: dict[str, list[Candidate]] = {name: [] for name in MODEL_NAMES}
    for name in MODEL_NAMES:
        candidates[name].append(
            Candidate(name, "bgnbd", {}, {**common, "kind": "bgnbd", "clv": clv.to_dict()})
        )
        candidates[name].append(
            Candidate(name, "rfm", {}, {**common, "kind": "rfm", "rfm": rfm.to_dict()})
        )
    gbm_meta = {
        **common,
        "kind": "gbm",
        "clv": clv.to_dict(),
        "model_features": [*FEATURE_NAMES, *CLV_FEATURES],
    }
    features = model_input(gbm_meta, frame)
    churn_model = _classifier(seed).fit(features, train.churned.astype(int))
    snap_thresholds_to_float32(churn_model)
    churn_onnx = to_onnx(churn_model, features.shape[1])
    candidates["churn"].append(
        Candidate(
            "churn",
            "gbm",
            {"model.onnx": churn_onnx, "model.pkl": pickle.dumps(churn_model)},
            gbm_meta,
        )
    )
    spend = _spend_candidate(train, features, gbm_meta, churn_model, churn_onnx, seed)
    if spend is not None:
        candidates["spend"].append(spend)
    return candidates


def _spend_candidate(
    train: Examples,
    features: NDArray[np.float32],
    gbm_meta: dict[str, Any],
    churn_model: Any,
    churn_onnx: bytes,
    seed: int,
) -> Candidate | None:
    """Hurdle model: P(any order in 30 days) x E[spend | ordered]."""
    bought = train.spend > 0
    if bought.sum() < 20 or (~bought).sum() < 20:
        return None
    if gbm_meta["horizon_days"] == SPEND_DAYS:
        # Same window: "bought" is "not churned", so the churn classifier is reused.
        purchase_model, purchase_onnx, purchase_class = churn_model, churn_onnx, 0
    else:
        purchase_model = _classifier(seed).fit(features, bought.astype(int))
        snap_thresholds_to_float32(purchase_model)
        purchase_onnx, purchase_class = to_onnx(purchase_model, features.shape[1]), 1
    amount_model = _regressor(seed).fit(features[bought], train.spend[bought])
    snap_thresholds_to_float32(amount_model)
    return Candidate(
        "spend",
        "gbm",
        {
            "purchase.onnx": purchase_onnx,
            "amount.onnx": to_onnx(amount_model, features.shape[1]),
            "model.pkl": pickle.dumps({"purchase": purchase_model, "amount": amount_model}),
        },
        {**gbm_meta, "purchase_class": purchase_class},
    )


def score_candidates(candidates: dict[str, list[Candidate]], validation: Examples) -> None:
    """Set each candidate's validation metrics, predicting through its served form."""
    frame: FeatureFrame = validation.merged
    for name, group in candidates.items():
        for candidate in group:
            predicted = candidate.serving().predict(frame)
            candidate.metrics = evaluate(name, validation, predicted)


def evaluate(name: str, examples: Examples, predicted: NDArray[np.float64]) -> dict[str, Any]:
    if name == "churn":
        return churn_metrics(examples.churned, predicted)
    return spend_metrics(examples.spend, predicted)
