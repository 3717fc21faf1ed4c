"""Fit the candidates of one run: gradient boosting models and the two baselines.

Every candidate is scored on the validation window through `ServingModel`, i.e. through the
exact ONNX graph or parameters that would be served; a graph that disagrees with the
scikit-learn model it came from fails the run (`OnnxParityError`).

The classifiers are calibrated (Platt scaling) on out-of-fold scores, with folds drawn by
customer at random (`customer_folds`). Not by row order: the examples are stacked cutoff by
cutoff and user by user, so contiguous folds are a cutoff and a range of sign-up dates each;
every fold's scores then come from a model that never saw customers of that age, and on a
cohort that signed up within a few months they ranked backwards. The sigmoid fitted to them
had the wrong sign and turned the booster's ranking around (issue 12: AUC 0.23 instead of
0.77 on a real transaction log, 90-day horizon).
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
from shop.ml.onnx_export import snap_thresholds_to_float32, to_onnx
from shop.ml.scoring import CLV_FEATURES, ServingModel, amount_from_raw, model_input

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


#: Largest difference allowed between an ONNX graph and its scikit-learn model: on a
#: probability, and on an amount relative to max(1, amount) (see `check_parity`).
PARITY_TOLERANCE = 1e-4
#: Rows of the training set the parity check scores (all of them on smaller sets).
_PARITY_ROWS = 5000
_CALIBRATION_FOLDS = 3
#: Boosting settings of every gradient-boosting model. Purchases in a window are rare (a few
#: percent of customers on a transaction log), so trees are kept shallow in effect (40
#: examples a leaf) and few (60 steps of 0.05): on small shops more steps learned noise.
_BOOSTING: dict[str, Any] = {
    "max_iter": 60,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}


class OnnxParityError(RuntimeError):
    """An exported graph does not compute what the fitted model computes: never served."""


def customer_folds(
    user_ids: NDArray[np.int64], seed: int, folds: int = _CALIBRATION_FOLDS
) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """(train rows, held-out rows) per fold; each customer's rows at every cutoff in one fold.

    Customers are dealt to folds at random, so every fold holds every cutoff and every
    sign-up date; keeping a customer's rows together keeps the out-of-fold scores honest.
    """
    users, inverse = np.unique(user_ids, return_inverse=True)
    rng = np.random.default_rng(seed)
    fold_of_user = rng.permutation(len(users)) % folds
    fold = fold_of_user[inverse]
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]


def _classifier(seed: int, user_ids: NDArray[np.int64]) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    booster = HistGradientBoostingClassifier(**_BOOSTING, random_state=seed)
    # Platt scaling fitted on out-of-fold predictions; one booster is kept (ensemble=False)
    # so the served graph stays small and fast.
    folds = customer_folds(user_ids, seed)
    return CalibratedClassifierCV(booster, method="sigmoid", cv=folds, ensemble=False)


def _regressor(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(**_BOOSTING, random_state=seed)


def fit_candidates(
    train: Examples, plan: CutoffPlan, *, seed: int = 7, spend_train: Examples | None = None
) -> dict[str, list[Candidate]]:
    """Baselines and gradient-boosting candidates for churn and spend (not yet scored).

    The gradient-boosting spend model learns from `spend_train` (`dataset.spend_examples`:
    examples at `plan.spend_train`) when given, else from `train`.
    """
    import sklearn.ensemble  # noqa: F401 - load OpenMP first, or the limit below finds nothing
    from threadpoolctl import threadpool_limits

    # OpenMP threads spin-wait: on a busy or small machine one thread is many times faster.
    with threadpool_limits(limits=1):
        return _fit_candidates(train, plan, seed, train if spend_train is None else spend_train)


def _fit_candidates(
    train: Examples, plan: CutoffPlan, seed: int, spend_train: Examples
) -> dict[str, list[Candidate]]:
    frame = train.merged
    latest = train.frames[-1]
    x, tx, t_age, m = latest.clv_inputs()
    clv = ClvModel.fit(x, tx, t_age, m)
    common = {
        "features": list(FEATURE_NAMES),
        "horizon_days": plan.horizon_days,
        "spend_days": plan.spend_days,
        "windows": plan.as_dict(),
        "libraries": library_versions(),
        "training_examples": len(train),
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
    churn_model = _classifier(seed, frame.user_ids).fit(features, train.churned.astype(int))
    snap_thresholds_to_float32(churn_model)
    churn_onnx = to_onnx(churn_model, features.shape[1])
    churn = Candidate(
        "churn", "gbm", {"model.onnx": churn_onnx, "model.pkl": pickle.dumps(churn_model)}, gbm_meta
    )
    check_parity(churn, frame)
    candidates["churn"].append(churn)
    shared = spend_train is train  # the churn cutoffs: reuse their model input
    spend_features = features if shared else model_input(gbm_meta, spend_train.merged)
    churn_fit = (churn_model, churn_onnx) if shared else None
    spend = _spend_candidate(spend_train, spend_features, gbm_meta, churn_fit, seed)
    if spend is not None:
        check_parity(spend, spend_train.merged)
        candidates["spend"].append(spend)
    return candidates


def _spend_candidate(
    train: Examples,
    features: NDArray[np.float32],
    gbm_meta: dict[str, Any],
    churn_fit: tuple[Any, bytes] | None,
    seed: int,
) -> Candidate | None:
    """Hurdle model: P(any order in the spend window) x E[spend | ordered].

    The amount is learned on log(1 + spend): order values are heavy-tailed, and the float32
    sums of an ONNX tree ensemble then err relative to the amount, not to the largest one.
    Duan's smearing factor turns the log-scale prediction back into a mean.
    """
    bought = train.spend > 0
    if bought.sum() < 20 or (~bought).sum() < 20:
        return None
    if churn_fit is not None and gbm_meta["horizon_days"] == gbm_meta["spend_days"]:
        # Same window and examples: "bought" is "not churned", so the churn classifier is reused.
        (purchase_model, purchase_onnx), purchase_class = churn_fit, 0
    else:
        user_ids = train.merged.user_ids
        purchase_model = _classifier(seed, user_ids).fit(features, bought.astype(int))
        snap_thresholds_to_float32(purchase_model)
        purchase_onnx, purchase_class = to_onnx(purchase_model, features.shape[1]), 1
    log_amount = np.log1p(train.spend[bought])
    amount_model = _regressor(seed).fit(features[bought], log_amount)
    snap_thresholds_to_float32(amount_model)
    residual = log_amount - amount_model.predict(features[bought])
    smearing = float(np.mean(np.exp(residual)))
    return Candidate(
        "spend",
        "gbm",
        {
            "purchase.onnx": purchase_onnx,
            "amount.onnx": to_onnx(amount_model, features.shape[1]),
            "model.pkl": pickle.dumps({"purchase": purchase_model, "amount": amount_model}),
        },
        {
            **gbm_meta,
            "purchase_class": purchase_class,
            "amount_scale": {"kind": "log1p", "smearing": smearing},
        },
    )


def sklearn_predictions(candidate: Candidate, frame: FeatureFrame) -> NDArray[np.float64]:
    """What a gradient-boosting candidate's scikit-learn models predict for `frame`."""
    model = pickle.loads(candidate.files["model.pkl"])  # noqa: S301 - our own training output
    features = model_input(candidate.metadata, frame)
    if candidate.name == "churn":
        return np.asarray(model.predict_proba(features)[:, 1], dtype=np.float64)
    column = int(candidate.metadata["purchase_class"])
    buys = model["purchase"].predict_proba(features)[:, column]
    amounts = amount_from_raw(candidate.metadata, model["amount"].predict(features))
    return np.asarray(buys * amounts, dtype=np.float64)


def check_parity(candidate: Candidate, frame: FeatureFrame) -> None:
    """Raise OnnxParityError if the served graphs and scikit-learn disagree on `frame`.

    A probability may differ by PARITY_TOLERANCE; an amount by PARITY_TOLERANCE x
    max(1, amount): the graphs sum float32 leaf values (learned on a log scale for amounts,
    so the error is relative), and a hundredth of a cent is below anything a shop shows.
    """
    if len(frame.user_ids) > _PARITY_ROWS:  # evenly spread rows: enough, and fast
        rows = np.linspace(0, len(frame.user_ids) - 1, _PARITY_ROWS).astype(np.intp)
        frame = FeatureFrame(frame.as_of, frame.user_ids[rows], frame.matrix[rows])
    served = candidate.serving().predict(frame)
    expected = sklearn_predictions(candidate, frame)
    scale = 1.0 if candidate.name == "churn" else np.maximum(np.abs(expected), 1.0)
    worst = float(np.max(np.abs(served - expected) / scale, initial=0.0))
    if not worst <= PARITY_TOLERANCE:
        raise OnnxParityError(
            f"the {candidate.name} model's ONNX graph disagrees with scikit-learn by {worst:.3g} "
            f"(allowed {PARITY_TOLERANCE:g}); it was not saved"
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
