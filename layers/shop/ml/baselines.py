"""Baselines trained in every run: an RFM heuristic and BG/NBD + Gamma-Gamma.

Fitting uses scipy (training side only). Prediction is plain numpy, including the Gaussian
hypergeometric function, so a baseline can win the champion slot and still be served by the
lean predict function; the BG/NBD outputs are also features of the gradient-boosting models.
Each prediction formula is written once and takes either arrays (many customers) or Python
floats (one customer: a single-user prediction, where numpy's per-call cost would dominate).

Time unit is days; a customer's "birth" is their sign-up, so every order counts as a
transaction: x = orders before the cutoff, tx = last order's age since sign-up, T = age at the
cutoff, m = their mean order value.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
#: What the prediction formulas take and give: arrays, or Python floats for one customer.
Number = TypeVar("Number", float, FloatArray)


def _where(condition: Any, then: Any, otherwise: Any) -> Any:
    """`np.where`, or a plain conditional when `condition` is one Python bool."""
    if isinstance(condition, bool):
        return then if condition else otherwise
    return np.where(condition, then, otherwise)


def _maximum(value: Any, floor: float) -> Any:
    """`np.maximum(value, floor)`, or `max` for one Python float (the same for NaN)."""
    return max(value, floor) if isinstance(value, float) else np.maximum(value, floor)


def _clip_unit(value: Any) -> Any:
    """`np.clip(value, 0, 1)`, or `min`/`max` for one Python float (the same for NaN)."""
    return min(max(value, 0.0), 1.0) if isinstance(value, float) else np.clip(value, 0.0, 1.0)


def _power(base: Any, exponent: Any) -> Any:
    """`base ** exponent`; for Python floats, infinity on overflow as numpy gives (not an error)."""
    if isinstance(base, float):
        try:
            return base**exponent
        except (OverflowError, ZeroDivisionError):
            return math.inf
    return base**exponent


def clv_inputs(
    frequency: Number, tenure: Number, recency: Number, order_value: Number
) -> tuple[Number, Number, Number, Number]:
    """(x, tx, T, m) from the features, with sign-up as each customer's birth."""
    tx = _where(frequency > 0, _maximum(tenure - recency, 0.0), 0.0)
    return frequency, tx, tenure, order_value


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _minimize(objective: Any, start: Any) -> Any:
    """Log-parameters minimizing `objective`: L-BFGS-B, with Nelder-Mead if it fails."""
    from scipy.optimize import minimize

    # Log-parameters stay in a sane range: exp(+-12) spans every plausible shop.
    bounds = [(-12.0, 12.0)] * len(start)
    result = minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    if result.success and np.isfinite(result.fun):
        return result.x
    fallback = minimize(objective, start, method="Nelder-Mead", options={"maxiter": 4000})
    return fallback.x if fallback.fun < result.fun or not np.isfinite(result.fun) else result.x


def fit_bgnbd(x: FloatArray, tx: FloatArray, t_age: FloatArray) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters (Fader, Hardie and Lee 2005)."""
    from scipy.special import gammaln

    x, tx, t_age = (np.asarray(v, dtype=np.float64) for v in (x, tx, t_age))
    t_age = np.maximum(t_age, 1e-6)
    tx = np.minimum(np.maximum(tx, 0.0), t_age)
    repeat = x > 0

    def negative_ll(log_params: FloatArray) -> float:
        r, alpha, a, b = np.exp(log_params)
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + t_age)
        a4 = np.where(
            repeat,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
        ll = a1 + a2 + np.logaddexp(a3, a4)
        return float(-ll.sum() / len(x))

    start = np.log([0.5, max(float(np.mean(t_age)) / 4, 1.0), 1.0, 2.0])
    r, alpha, a, b = (float(v) for v in np.exp(_minimize(negative_ll, start)))
    return BgNbdParams(r=r, alpha=alpha, a=a, b=b)


def fit_gamma_gamma(x: FloatArray, m: FloatArray) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma spend parameters from customers with transactions."""
    from scipy.special import gammaln

    mask = (np.asarray(x) > 0) & (np.asarray(m) > 0)
    x, m = np.asarray(x, dtype=np.float64)[mask], np.asarray(m, dtype=np.float64)[mask]
    if len(x) < 2:
        raise ValueError("Gamma-Gamma needs at least two customers with orders")

    def negative_ll(log_params: FloatArray) -> float:
        p, q, v = np.exp(log_params)
        px = p * x
        ll = (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(x * m + v)
        )
        return float(-ll.sum() / len(x))

    start = np.log([2.0, 3.0, max(float(np.mean(m)), 1.0)])
    p, q, v = (float(val) for val in np.exp(_minimize(negative_ll, start)))
    return GammaGammaParams(p=p, q=q, v=v)


def hyp2f1(a: Any, b: Any, c: Any, z: Any) -> Any:
    """Gauss's 2F1(a, b; c; z) for 0 <= z < 1 by its power series (no scipy).

    Few values (a single prediction) are summed with Python floats, which is far faster than
    numpy on one-element arrays; many values are summed vectorized. A Python float `z` (one
    customer) gives a Python float.
    """
    if isinstance(z, float):
        return _hyp2f1_scalar(float(a), float(b), float(c), z)
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    if z.size <= 16:
        flat = [
            _hyp2f1_scalar(float(ai), float(bi), float(ci), float(zi))
            for ai, bi, ci, zi in zip(a.ravel(), b.ravel(), c.ravel(), z.ravel(), strict=True)
        ]
        return np.asarray(flat, dtype=np.float64).reshape(z.shape)
    term = np.ones_like(z)
    total = np.ones_like(z)
    for n in range(_MAX_TERMS):
        term = term * (a + n) * (b + n) / ((c + n) * (n + 1)) * z
        total = total + term
        if np.all(np.abs(term) <= 1e-12 * np.abs(total)):
            break
    return total


_MAX_TERMS = 5000


def _hyp2f1_scalar(a: float, b: float, c: float, z: float) -> float:
    term = total = 1.0
    n = 0.0  # a float counter: no int-to-float conversion in each of the four sums below
    for _ in range(_MAX_TERMS):
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z
        total += term
        if abs(term) <= 1e-12 * abs(total):
            break
        n += 1.0
    return total


def p_alive(params: BgNbdParams, x: Number, tx: Number, t_age: Number) -> Number:
    """Probability each customer is still active at the cutoff."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    ratio = _where(
        x > 0,
        a / _maximum(b + x - 1, 1e-12) * _power((alpha + t_age) / (alpha + tx), r + x),
        0.0,
    )
    return 1.0 / (1.0 + ratio)


def expected_purchases(
    params: BgNbdParams, x: Number, tx: Number, t_age: Number, days: float
) -> Number:
    """Expected number of orders in the next `days` days (conditional on history)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a_safe = a if abs(a - 1) > 1e-6 else 1 + 1e-6
    z = days / (alpha + t_age + days)
    hyp = hyp2f1(r + x, b + x, a_safe + b + x - 1, z)
    head = (a_safe + b + x - 1) / (a_safe - 1)
    body = 1 - _power((alpha + t_age) / (alpha + t_age + days), r + x) * hyp
    denominator = _where(
        x > 0,
        1 + a_safe / _maximum(b + x - 1, 1e-12) * _power((alpha + t_age) / (alpha + tx), r + x),
        1.0,
    )
    return _maximum(head * body / denominator, 0.0)


def p_no_purchase(params: BgNbdParams, x: Number, tx: Number, t_age: Number, days: float) -> Number:
    """Probability of no order in the next `days` days: dropped out, or alive and quiet."""
    alive = p_alive(params, x, tx, t_age)
    quiet = _power((params.alpha + t_age) / (params.alpha + t_age + days), params.r + x)
    return _clip_unit((1 - alive) + alive * quiet)


def expected_order_value(params: GammaGammaParams, x: Number, m: Number) -> Number:
    """Gamma-Gamma's expected value of a customer's future orders (population mean if none)."""
    p, q, v = params.p, params.q, params.v
    q_safe = max(q, 1.0 + 1e-6)
    population = p * v / (q_safe - 1)
    conditional = p * (v + x * m) / _maximum(p * x + q_safe - 1, 1e-12)
    return _where(x > 0, conditional, population)


@dataclass(frozen=True)
class ClvModel:
    """BG/NBD + Gamma-Gamma: churn probability and expected spend over a horizon."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams

    @classmethod
    def fit(cls, x: FloatArray, tx: FloatArray, t_age: FloatArray, m: FloatArray) -> ClvModel:
        return cls(bgnbd=fit_bgnbd(x, tx, t_age), gamma_gamma=fit_gamma_gamma(x, m))

    def churn_probability(self, x: Number, tx: Number, t_age: Number, days: float) -> Number:
        return p_no_purchase(self.bgnbd, x, tx, t_age, days)

    def expected_spend(
        self, x: Number, tx: Number, t_age: Number, m: Number, days: float
    ) -> Number:
        purchases = expected_purchases(self.bgnbd, x, tx, t_age, days)
        return purchases * expected_order_value(self.gamma_gamma, x, m)

    def to_dict(self) -> dict[str, Any]:
        return {"bgnbd": self.bgnbd.as_dict(), "gamma_gamma": self.gamma_gamma.as_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClvModel:
        return cls(
            bgnbd=BgNbdParams(**data["bgnbd"]), gamma_gamma=GammaGammaParams(**data["gamma_gamma"])
        )


@dataclass(frozen=True)
class RfmModel:
    """RFM heuristic: recency, frequency and monetary terciles; each cell's observed outcome.

    Cells seen rarely in training are shrunk toward the overall rate (10 pseudo-customers).
    """

    recency_edges: list[float]
    frequency_edges: list[float]
    monetary_edges: list[float]
    churn_by_cell: list[float]
    spend_by_cell: list[float]

    @staticmethod
    def cells(
        edges: tuple[list[float], list[float], list[float]],
        recency: FloatArray,
        frequency: FloatArray,
        monetary: FloatArray,
    ) -> NDArray[np.int64]:
        r = np.searchsorted(edges[0], recency, side="right")
        f = np.searchsorted(edges[1], frequency, side="right")
        m = np.searchsorted(edges[2], monetary, side="right")
        return (r * 9 + f * 3 + m).astype(np.int64)

    @classmethod
    def fit(
        cls,
        recency: FloatArray,
        frequency: FloatArray,
        monetary: FloatArray,
        churned: FloatArray,
        spend: FloatArray,
    ) -> RfmModel:
        def terciles(values: FloatArray) -> list[float]:
            edges = np.unique(np.quantile(values, [1 / 3, 2 / 3]))
            return [float(e) for e in edges] + [1e300] * (2 - len(edges))

        edges = (terciles(recency), terciles(frequency), terciles(monetary))
        cell = cls.cells(edges, recency, frequency, monetary)
        prior = 10.0
        churn_rate, spend_mean = float(np.mean(churned)), float(np.mean(spend))
        count = np.bincount(cell, minlength=27).astype(np.float64)
        churn_sum = np.bincount(cell, weights=churned, minlength=27)
        spend_sum = np.bincount(cell, weights=spend, minlength=27)
        return cls(
            recency_edges=edges[0],
            frequency_edges=edges[1],
            monetary_edges=edges[2],
            churn_by_cell=list((churn_sum + prior * churn_rate) / (count + prior)),
            spend_by_cell=list((spend_sum + prior * spend_mean) / (count + prior)),
        )

    def _lookup(self, by_cell: list[float], recency: Any, frequency: Any, monetary: Any) -> Any:
        """Each customer's cell value; `bisect_right` is `searchsorted(side="right")` for one."""
        if isinstance(recency, float):
            cell = (
                bisect_right(self.recency_edges, recency) * 9
                + bisect_right(self.frequency_edges, frequency) * 3
                + bisect_right(self.monetary_edges, monetary)
            )
            return by_cell[cell]
        edges = (self.recency_edges, self.frequency_edges, self.monetary_edges)
        return np.asarray(by_cell)[self.cells(edges, recency, frequency, monetary)]

    def churn_probability(self, recency: Number, frequency: Number, monetary: Number) -> Number:
        return self._lookup(self.churn_by_cell, recency, frequency, monetary)

    def expected_spend(self, recency: Number, frequency: Number, monetary: Number) -> Number:
        return self._lookup(self.spend_by_cell, recency, frequency, monetary)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
