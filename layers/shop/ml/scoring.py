"""Serving a stored model: numpy and ONNX Runtime only (no pandas, no scikit-learn).

Used by the predict function and, so that what is evaluated is exactly what is served, by
training to score every candidate on the validation window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shop.ml.artifacts import StoredModel
from shop.ml.baselines import ClvModel, RfmModel
from shop.ml.features import FeatureFrame
from shop.ml.labels import SPEND_DAYS

#: BG/NBD outputs the gradient-boosting models take as extra features, after FEATURE_NAMES.
CLV_FEATURES: tuple[str, ...] = ("clv_p_alive", "clv_expected_orders", "clv_expected_value")


def clv_features(clv: ClvModel, frame: FeatureFrame, days: float) -> NDArray[np.float64]:
    """BG/NBD's P(alive), expected orders in `days` and Gamma-Gamma's order value, per row."""
    from shop.ml.baselines import expected_order_value, expected_purchases, p_alive

    x, tx, t_age, m = frame.clv_inputs()
    return np.column_stack(
        [
            p_alive(clv.bgnbd, x, tx, t_age),
            expected_purchases(clv.bgnbd, x, tx, t_age, days),
            expected_order_value(clv.gamma_gamma, x, m),
        ]
    )


def model_input(metadata: dict[str, Any], frame: FeatureFrame) -> NDArray[np.float32]:
    """The float32 matrix a gradient-boosting model was trained on, columns in its order."""
    base = frame.columns(metadata["features"])
    if metadata.get("clv"):
        extra = clv_features(ClvModel.from_dict(metadata["clv"]), frame, SPEND_DAYS)
        base = np.hstack([base, extra])
    return np.ascontiguousarray(base, dtype=np.float32)


def _session(data: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One row at a time is the common case: threads cost more than they save.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


@dataclass
class ServingModel:
    """A verified model version ready to predict churn probability or 30-day spend."""

    name: str
    version: str
    metadata: dict[str, Any]
    sessions: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return str(self.metadata["kind"])

    @classmethod
    def from_stored(cls, stored: StoredModel) -> ServingModel:
        sessions = {
            filename: _session(data)
            for filename, data in stored.files.items()
            if filename.endswith(".onnx")
        }
        return cls(stored.name, stored.version, stored.metadata, sessions)

    def predict(self, frame: FeatureFrame) -> NDArray[np.float64]:
        """One prediction per row of `frame`: a probability (churn) or an amount (spend)."""
        if len(frame.user_ids) == 0:
            return np.zeros(0)
        kind = self.kind
        if kind == "gbm":
            return self._predict_gbm(frame)
        horizon = float(self.metadata.get("horizon_days", SPEND_DAYS))
        if kind == "bgnbd":
            clv = ClvModel.from_dict(self.metadata["clv"])
            x, tx, t_age, m = frame.clv_inputs()
            if self.name == "churn":
                return clv.churn_probability(x, tx, t_age, horizon)
            return clv.expected_spend(x, tx, t_age, m, SPEND_DAYS)
        if kind == "rfm":
            rfm = RfmModel(**self.metadata["rfm"])
            args = (
                frame.column("recency_days"),
                frame.column("frequency"),
                frame.column("monetary_total"),
            )
            if self.name == "churn":
                return rfm.churn_probability(*args)
            return rfm.expected_spend(*args)
        raise ValueError(f"unknown model kind {kind!r}")

    def _predict_gbm(self, frame: FeatureFrame) -> NDArray[np.float64]:
        features = model_input(self.metadata, frame)
        if self.name == "churn":
            _, probabilities = self.sessions["model.onnx"].run(None, {"input": features})
            return np.asarray(probabilities[:, 1], dtype=np.float64)
        _, probabilities = self.sessions["purchase.onnx"].run(None, {"input": features})
        buys = np.asarray(probabilities[:, int(self.metadata["purchase_class"])])
        (amount,) = self.sessions["amount.onnx"].run(None, {"input": features})
        return np.asarray(buys * np.maximum(amount.ravel(), 0.0), dtype=np.float64)
