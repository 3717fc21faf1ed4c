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
from shop.ml.features import FEATURE_INDEX, FeatureFrame
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
    return InputBuilder.from_metadata(metadata).build(frame)


@dataclass(frozen=True)
class InputBuilder:
    """Builds a gradient-boosting model's input: column positions and CLV model resolved once."""

    columns: NDArray[np.intp]
    clv: ClvModel | None

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> InputBuilder:
        columns = np.array([FEATURE_INDEX[name] for name in metadata["features"]], dtype=np.intp)
        clv = ClvModel.from_dict(metadata["clv"]) if metadata.get("clv") else None
        return cls(columns, clv)

    def build(self, frame: FeatureFrame) -> NDArray[np.float32]:
        n = len(frame.user_ids)
        width = len(self.columns) + (len(CLV_FEATURES) if self.clv is not None else 0)
        out = np.empty((n, width), dtype=np.float32)
        out[:, : len(self.columns)] = frame.matrix[:, self.columns]
        if self.clv is not None:
            out[:, len(self.columns) :] = clv_features(self.clv, frame, SPEND_DAYS)
        return out


def _session(data: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One row at a time is the common case: threads cost more than they save.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class _Graph:
    """An ONNX session with its input name and the one output we read, looked up once."""

    session: Any
    input_name: str
    output: str

    @classmethod
    def of(cls, session: Any, output_index: int) -> _Graph:
        name = session.get_inputs()[0].name
        return cls(session, name, session.get_outputs()[output_index].name)

    def run(self, features: NDArray[np.float32]) -> Any:
        return self.session.run([self.output], {self.input_name: features})[0]


@dataclass
class ServingModel:
    """A verified model version ready to predict churn probability or 30-day spend.

    Everything that does not depend on the rows (column positions, CLV parameters, ONNX
    input and output names) is resolved when the model is loaded, not per prediction.
    """

    name: str
    version: str
    metadata: dict[str, Any]
    sessions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = self.kind
        self._inputs = InputBuilder.from_metadata(self.metadata) if kind == "gbm" else None
        self._clv = ClvModel.from_dict(self.metadata["clv"]) if kind == "bgnbd" else None
        self._rfm = RfmModel(**self.metadata["rfm"]) if kind == "rfm" else None
        self._horizon = float(self.metadata.get("horizon_days", SPEND_DAYS))
        self._graphs: dict[str, _Graph] = {}
        if kind == "gbm" and self.name == "churn":
            self._graphs["churn"] = _Graph.of(self.sessions["model.onnx"], 1)
        elif kind == "gbm":
            self._graphs["purchase"] = _Graph.of(self.sessions["purchase.onnx"], 1)
            self._graphs["amount"] = _Graph.of(self.sessions["amount.onnx"], 0)
            self._purchase_class = int(self.metadata["purchase_class"])

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
        if self._inputs is not None:
            return self._predict_gbm(self._inputs.build(frame))
        if self._clv is not None:
            x, tx, t_age, m = frame.clv_inputs()
            if self.name == "churn":
                return self._clv.churn_probability(x, tx, t_age, self._horizon)
            return self._clv.expected_spend(x, tx, t_age, m, SPEND_DAYS)
        if self._rfm is not None:
            args = (
                frame.column("recency_days"),
                frame.column("frequency"),
                frame.column("monetary_total"),
            )
            if self.name == "churn":
                return self._rfm.churn_probability(*args)
            return self._rfm.expected_spend(*args)
        raise ValueError(f"unknown model kind {self.kind!r}")

    def _predict_gbm(self, features: NDArray[np.float32]) -> NDArray[np.float64]:
        if self.name == "churn":
            probabilities = self._graphs["churn"].run(features)
            return probabilities[:, 1].astype(np.float64)
        buys = self._graphs["purchase"].run(features)[:, self._purchase_class]
        amount = self._graphs["amount"].run(features)
        return (buys * np.maximum(amount.ravel(), 0.0)).astype(np.float64)
