"""scikit-learn -> ONNX, with a guard for a known converter bug (training side only).

skl2onnx 1.20 passes Python/numpy booleans for `nodes_missing_value_tracks_true` when it
converts HistGradientBoosting models, and onnx 1.23 refuses booleans in an INTS attribute.
We cast them to ints for the duration of one conversion; the parity test
(tests/ml/test_onnx_parity.py) proves the graph still matches scikit-learn within 1e-4.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: ONNX opsets the converted graphs use (pinned with the converter's version in uv.lock).
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
_lock = threading.Lock()


@contextmanager
def _integer_missing_tracks() -> Iterator[None]:
    from skl2onnx.common import tree_ensemble

    original = tree_ensemble.add_node

    def add_node(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kwargs: Any) -> Any:
        return original(
            *args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs
        )

    with _lock:
        tree_ensemble.add_node = add_node
        try:
            yield
        finally:
            tree_ensemble.add_node = original


def to_onnx(model: Any, n_features: int) -> bytes:
    """The serialized ONNX graph of a fitted estimator with one float32 input named `input`."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
    with _integer_missing_tracks():
        graph = convert_sklearn(
            model,
            initial_types=[("input", FloatTensorType([None, n_features]))],
            options=options,
            target_opset=TARGET_OPSET,
        )
    return bytes(graph.SerializeToString())


def snap_thresholds_to_float32(model: Any) -> Any:
    """Round every split threshold down to a float32 value, in place; returns `model`.

    ONNX tree ensembles keep float32 thresholds, scikit-learn float64 ones: an input lying
    between the two would go left in one and right in the other. With t32 the largest
    float32 <= t64, `x <= t64` and `x <= t32` agree for every float32 x, so the fitted
    model's predictions on float32 inputs do not change and the ONNX graph matches them.
    """
    import numpy as np

    for booster in _boosters(model):
        for iteration in booster._predictors:
            for predictor in iteration:
                t64 = predictor.nodes["num_threshold"]
                t32 = t64.astype(np.float32)
                over = t32.astype(np.float64) > t64
                t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
                predictor.nodes["num_threshold"] = t32.astype(np.float64)
    return model


def _boosters(model: Any) -> list[Any]:
    if hasattr(model, "calibrated_classifiers_"):
        return [c.estimator for c in model.calibrated_classifiers_]
    return [model] if hasattr(model, "_predictors") else []
