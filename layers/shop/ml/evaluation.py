"""Metrics of a run, in numpy only (the predict function's backtest uses them too)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def _ranks(values: FloatArray) -> FloatArray:
    """Ranks starting at 1, ties sharing their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    boundaries = np.flatnonzero(np.diff(sorted_values)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(values)]])
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2
    return ranks


def roc_auc(labels: FloatArray, scores: FloatArray) -> float | None:
    """Area under the ROC curve (Mann-Whitney); None when only one class is present."""
    positives = labels > 0.5
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _ranks(np.asarray(scores, dtype=np.float64))
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def spearman(a: FloatArray, b: FloatArray) -> float | None:
    """Spearman rank correlation; None when either side is constant."""
    if len(a) < 2:
        return None
    ra, rb = _ranks(np.asarray(a, dtype=np.float64)), _ranks(np.asarray(b, dtype=np.float64))
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def calibration_table(labels: FloatArray, probabilities: FloatArray, bins: int = 10) -> Any:
    """Per probability decile: mean predicted, observed rate and count (empty bins left out)."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, probabilities, side="right") - 1, 0, bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            table.append(
                {
                    "bin": [round(float(edges[b]), 2), round(float(edges[b + 1]), 2)],
                    "predicted": float(probabilities[mask].mean()),
                    "observed": float(labels[mask].mean()),
                    "count": int(mask.sum()),
                }
            )
    return table


def churn_metrics(labels: FloatArray, probabilities: FloatArray) -> dict[str, Any]:
    """ROC AUC, Brier score, log loss, expected calibration error and the calibration table."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    y = np.asarray(labels, dtype=np.float64)
    table = calibration_table(y, p)
    ece = sum(row["count"] * abs(row["predicted"] - row["observed"]) for row in table) / max(
        len(y), 1
    )
    return {
        "auc": roc_auc(y, p),
        "brier": float(np.mean((p - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "ece": float(ece),
        "calibration": table,
        "positive_rate": float(y.mean()) if len(y) else None,
        "examples": len(y),
    }


def spend_metrics(actual: FloatArray, predicted: FloatArray) -> dict[str, Any]:
    """MAE, RMSE and Spearman rank correlation of predicted against actual spend."""
    a = np.asarray(actual, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    return {
        "mae": float(np.mean(np.abs(a - p))),
        "rmse": float(np.sqrt(np.mean((a - p) ** 2))),
        "spearman": spearman(a, p),
        "mean_actual": float(a.mean()) if len(a) else None,
        "mean_predicted": float(p.mean()) if len(p) else None,
        "examples": len(a),
    }


#: The metric each model is ranked on, and whether higher is better.
PRIMARY_METRIC: dict[str, tuple[str, bool]] = {"churn": ("auc", True), "spend": ("rmse", False)}


def better(name: str, candidate: dict[str, Any], incumbent: dict[str, Any] | None) -> bool:
    """True when `candidate` strictly beats `incumbent` on `name`'s primary metric."""
    metric, higher = PRIMARY_METRIC[name]
    new = candidate.get(metric)
    if new is None:
        return False
    old = None if incumbent is None else incumbent.get(metric)
    if old is None:
        return True
    return bool(new > old) if higher else bool(new < old)
