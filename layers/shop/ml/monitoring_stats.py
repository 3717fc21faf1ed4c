"""Population stability of features: the training reference and today's PSI (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from shop.ml.features import FEATURE_NAMES, FeatureFrame

_BINS = 10
_EPSILON = 1e-4
#: Features that grow by one a day for a user who does nothing: compared both as they were
#: and aged by the time since the reference, so ageing alone raises no alarm.
TIME_GROWING: frozenset[str] = frozenset(
    {"tenure_days", "recency_days", "days_since_last_login", "days_since_last_event"}
)
#: PSI from which a feature's shift reads as "moderate", and as "significant".
MODERATE_PSI = 0.1
SIGNIFICANT_PSI = 0.25


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


def drift_level(value: float) -> str:
    if value < MODERATE_PSI:
        return "stable"
    return "moderate" if value < SIGNIFICANT_PSI else "significant"


def feature_drift(
    reference: dict[str, dict[str, list[float]]],
    frame: FeatureFrame,
    *,
    elapsed_days: float = 0.0,
) -> list[dict[str, Any]]:
    """PSI of each feature, largest first, with a plain-words level.

    A time-growing feature is compared twice, against the reference as it was and against
    the reference aged by `elapsed_days` (today's values less the time since the reference),
    and keeps the closer one: a shop that carries on as before and a shop where everyone
    just got older both read as stable, while a real change shows in both comparisons.
    """
    rows = []
    for name, ref in reference.items():
        if name not in FEATURE_NAMES:
            continue
        values = frame.column(name)
        value, aged = psi(ref, values), False
        if name in TIME_GROWING and elapsed_days > 0:
            older = psi(ref, values - elapsed_days)
            value, aged = (older, True) if older < value else (value, False)
        rows.append(
            {"feature": name, "psi": round(value, 4), "level": drift_level(value), "aged": aged}
        )
    return sorted(rows, key=lambda row: row["psi"], reverse=True)
