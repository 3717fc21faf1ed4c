"""Population stability of features: the training reference and today's PSI (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from shop.ml.features import FEATURE_NAMES, FeatureFrame

_BINS = 10
_EPSILON = 1e-4


def reference_distribution(frame: FeatureFrame) -> dict[str, dict[str, list[float]]]:
    """Per feature: decile edges of the training data and the share of rows in each bin."""
    reference: dict[str, dict[str, list[float]]] = {}
    for name in FEATURE_NAMES:
        values = frame.column(name)
        edges = np.unique(np.quantile(values, np.linspace(0, 1, _BINS + 1)[1:-1]))
        reference[name] = {
            "edges": [float(e) for e in edges],
            "proportions": [float(p) for p in _proportions(values, edges)],
        }
    return reference


def _proportions(values: NDArray[np.float64], edges: NDArray[np.float64]) -> Any:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def psi(reference: dict[str, list[float]], values: NDArray[np.float64]) -> float:
    """Population stability index of `values` against a reference (>0.25 is a big shift)."""
    edges = np.asarray(reference["edges"], dtype=np.float64)
    expected = np.maximum(np.asarray(reference["proportions"]), _EPSILON)
    actual = np.maximum(_proportions(values, edges), _EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def feature_drift(
    reference: dict[str, dict[str, list[float]]], frame: FeatureFrame
) -> list[dict[str, Any]]:
    """PSI of each feature, largest first, with a plain-words level."""
    rows = []
    for name, ref in reference.items():
        if name not in FEATURE_NAMES:
            continue
        value = psi(ref, frame.column(name))
        level = "stable" if value < 0.1 else "moderate" if value < 0.25 else "significant"
        rows.append({"feature": name, "psi": round(value, 4), "level": level})
    return sorted(rows, key=lambda row: row["psi"], reverse=True)
