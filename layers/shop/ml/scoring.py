"""Serving a stored model: numpy and ONNX Runtime only (no pandas, no scikit-learn).

Used by the predict function and, so that what is evaluated is exactly what is served, by
training to score every candidate on the validation window.

A single row (a single-user prediction, the common call) takes its own path: Python floats
for the baselines and the CLV features, and for gradient boosting a preallocated float32
row bound to ONNX Runtime once (IOBinding), so that numpy's per-call overhead does not
dwarf the model. Both paths run the same formulas (`shop.ml.baselines`) and the same graphs;
tests/ml/test_scoring.py proves they agree.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from shop.ml.artifacts import StoredModel
from shop.ml.baselines import (
    ClvModel,
    Number,
    RfmModel,
    clv_inputs,
    expected_order_value,
    expected_purchases,
    p_alive,
)
from shop.ml.features import CLV_INPUT_FEATURES, FEATURE_INDEX, FeatureFrame
from shop.ml.labels import SPEND_DAYS

#: BG/NBD outputs the gradient-boosting models take as extra features, after FEATURE_NAMES.
CLV_FEATURES: tuple[str, ...] = ("clv_p_alive", "clv_expected_orders", "clv_expected_value")
_CLV_AT = tuple(FEATURE_INDEX[name] for name in CLV_INPUT_FEATURES)
_RFM_AT = tuple(FEATURE_INDEX[name] for name in ("recency_days", "frequency", "monetary_total"))


def _clv_values(clv: ClvModel, x: Number, tx: Number, t_age: Number, m: Number) -> list[Number]:
    """BG/NBD's P(alive), expected orders in SPEND_DAYS and Gamma-Gamma's order value."""
    return [
        p_alive(clv.bgnbd, x, tx, t_age),
        expected_purchases(clv.bgnbd, x, tx, t_age, SPEND_DAYS),
        expected_order_value(clv.gamma_gamma, x, m),
    ]


def _row_clv_inputs(row: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """(x, tx, T, m) of one feature row, in Python floats."""
    values = row.tolist()
    return clv_inputs(*(values[at] for at in _CLV_AT))


def clv_features(clv: ClvModel, frame: FeatureFrame) -> NDArray[np.float64]:
    """The CLV_FEATURES of each row of `frame`."""
    return np.column_stack(_clv_values(clv, *frame.clv_inputs()))


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

    @property
    def width(self) -> int:
        return len(self.columns) + (len(CLV_FEATURES) if self.clv is not None else 0)

    def build(self, frame: FeatureFrame) -> NDArray[np.float32]:
        out = np.empty((len(frame.user_ids), self.width), dtype=np.float32)
        out[:, : len(self.columns)] = frame.matrix[:, self.columns]
        if self.clv is not None:
            out[:, len(self.columns) :] = clv_features(self.clv, frame)
        return out

    def fill_row(self, row: NDArray[np.float64], out: NDArray[np.float32]) -> None:
        """Write one feature row's model input into `out` (shape (1, width)): as `build`."""
        out[0, : len(self.columns)] = row[self.columns]
        if self.clv is not None:
            out[0, len(self.columns) :] = _clv_values(self.clv, *_row_clv_inputs(row))


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
    #: Columns of that output (float32), when the graph states them.
    width: int | None

    @classmethod
    def of(cls, session: Any, output_index: int) -> _Graph:
        output = session.get_outputs()[output_index]
        shape = list(output.shape)
        static = output.type == "tensor(float)" and len(shape) == 2 and isinstance(shape[1], int)
        name = session.get_inputs()[0].name
        return cls(session, name, output.name, shape[1] if static else None)

    def run(self, features: NDArray[np.float32]) -> Any:
        return self.session.run([self.output], {self.input_name: features})[0]


class _BoundRow:
    """A graph bound once to a one-row input buffer and its own output buffer (IOBinding).

    A run then neither checks names nor allocates: about half of `session.run`'s time on one
    row. Not thread-safe: the caller holds a lock around filling the input and reading.
    """

    def __init__(self, graph: _Graph, row: NDArray[np.float32]) -> None:
        self._graph, self._row = graph, row
        self._binding = None
        self.output: NDArray[np.float32] = np.zeros((1, graph.width or 0), dtype=np.float32)
        if graph.width is not None:
            self._binding = graph.session.io_binding()
            self._binding.bind_cpu_input(graph.input_name, row)
            self._binding.bind_output(
                graph.output, "cpu", 0, np.float32, [1, graph.width], self.output.ctypes.data
            )

    def run(self) -> NDArray[np.float32]:
        if self._binding is None:  # a graph without a static output width: plain run
            result: NDArray[np.float32] = self._graph.run(self._row)
            return result
        self._graph.session.run_with_iobinding(self._binding)
        return self.output


class _Scorer(Protocol):
    def many(self, frame: FeatureFrame) -> NDArray[np.float64]: ...

    def one(self, row: NDArray[np.float64]) -> float: ...


def amount_from_raw(metadata: dict[str, Any], raw: Any) -> Any:
    """The amount graph's output as money: exp back from log(1 + spend) when learned so.

    Models stored before the log scale was introduced predict the amount itself.
    """
    scale = metadata.get("amount_scale")
    if scale is None:
        return raw
    smearing = float(scale["smearing"])
    if isinstance(raw, float):  # one customer: no numpy call
        return math.exp(raw) * smearing - 1.0
    return np.exp(np.asarray(raw, dtype=np.float64)) * smearing - 1.0


def _hurdle(buys: Any, amounts: Any) -> Any:
    """P(order) x E[spend | order]."""
    return buys * np.maximum(amounts, 0.0)


class _GbmScorer:
    """Gradient boosting: churn probability, or the hurdle spend of two graphs."""

    def __init__(self, name: str, metadata: dict[str, Any], sessions: dict[str, Any]) -> None:
        self._inputs = InputBuilder.from_metadata(metadata)
        self._churn = name == "churn"
        if self._churn:
            graphs = [_Graph.of(sessions["model.onnx"], 1)]
            self._column = 1
        else:
            graphs = [
                _Graph.of(sessions["purchase.onnx"], 1),
                _Graph.of(sessions["amount.onnx"], 0),
            ]
            self._column = int(metadata["purchase_class"])
        self._graphs = graphs
        self._metadata = metadata
        self._row = np.zeros((1, self._inputs.width), dtype=np.float32)
        self._bound = [_BoundRow(graph, self._row) for graph in graphs]
        self._lock = threading.Lock()

    def many(self, frame: FeatureFrame) -> NDArray[np.float64]:
        features = self._inputs.build(frame)
        if self._churn:
            return self._graphs[0].run(features)[:, self._column].astype(np.float64)
        buys = self._graphs[0].run(features)[:, self._column].astype(np.float64)
        amounts = amount_from_raw(self._metadata, self._graphs[1].run(features).ravel())
        return np.asarray(_hurdle(buys, amounts), dtype=np.float64)

    def one(self, row: NDArray[np.float64]) -> float:
        with self._lock:
            self._inputs.fill_row(row, self._row)
            if self._churn:
                return float(self._bound[0].run()[0, self._column])
            buys = float(self._bound[0].run()[0, self._column])
            amount = amount_from_raw(self._metadata, float(self._bound[1].run()[0, 0]))
            return buys * max(amount, 0.0)


class _ClvScorer:
    """BG/NBD + Gamma-Gamma: churn over the model's horizon, or spend over its spend window."""

    def __init__(self, name: str, metadata: dict[str, Any]) -> None:
        self._clv = ClvModel.from_dict(metadata["clv"])
        self._churn = name == "churn"
        self._horizon = float(metadata.get("horizon_days", SPEND_DAYS))
        self._spend_days = float(metadata.get("spend_days", SPEND_DAYS))

    def _score(self, x: Number, tx: Number, t_age: Number, m: Number) -> Number:
        if self._churn:
            return self._clv.churn_probability(x, tx, t_age, self._horizon)
        return self._clv.expected_spend(x, tx, t_age, m, self._spend_days)

    def many(self, frame: FeatureFrame) -> NDArray[np.float64]:
        return self._score(*frame.clv_inputs())

    def one(self, row: NDArray[np.float64]) -> float:
        return self._score(*_row_clv_inputs(row))


class _RfmScorer:
    """The RFM heuristic: each cell's churn rate or mean spend."""

    def __init__(self, name: str, metadata: dict[str, Any]) -> None:
        rfm = RfmModel(**metadata["rfm"])
        self._score = rfm.churn_probability if name == "churn" else rfm.expected_spend

    def many(self, frame: FeatureFrame) -> NDArray[np.float64]:
        return self._score(*(frame.matrix[:, at] for at in _RFM_AT))

    def one(self, row: NDArray[np.float64]) -> float:
        values = row.tolist()
        return self._score(*(values[at] for at in _RFM_AT))


def _scorer(name: str, metadata: dict[str, Any], sessions: dict[str, Any]) -> _Scorer:
    kind = metadata["kind"]
    if kind == "gbm":
        return _GbmScorer(name, metadata, sessions)
    if kind == "bgnbd":
        return _ClvScorer(name, metadata)
    if kind == "rfm":
        return _RfmScorer(name, metadata)
    raise ValueError(f"unknown model kind {kind!r}")


@dataclass
class ServingModel:
    """A verified model version ready to predict churn probability or 30-day spend.

    Everything that does not depend on the rows (column positions, CLV parameters, ONNX
    input and output names and bindings) is resolved when the model is loaded, not per
    prediction.
    """

    name: str
    version: str
    metadata: dict[str, Any]
    sessions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._scorer = _scorer(self.name, self.metadata, self.sessions)

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
        if len(frame.user_ids) == 1:
            return np.array([self._scorer.one(frame.matrix[0])])
        return self._scorer.many(frame)
