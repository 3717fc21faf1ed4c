"""BG/NBD and Gamma-Gamma recover known parameters from data simulated by their own story."""

from __future__ import annotations

import numpy as np

from shop.ml.baselines import (
    BgNbdParams,
    ClvModel,
    RfmModel,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    hyp2f1,
)


def simulate_bgnbd(
    params: BgNbdParams, customers: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, tx, T) for customers whose purchases follow BG/NBD with `params`."""
    t_age = rng.uniform(60, 365, customers)
    rates = rng.gamma(params.r, 1 / params.alpha, customers)
    dropout = rng.beta(params.a, params.b, customers)
    x, tx = np.zeros(customers), np.zeros(customers)
    for i in range(customers):
        now = 0.0
        while True:
            now += rng.exponential(1 / rates[i])
            if now > t_age[i]:
                break
            x[i] += 1
            tx[i] = now
            if rng.random() < dropout[i]:
                break
    return x, tx, t_age


def test_bgnbd_fit_recovers_the_parameters_of_simulated_customers() -> None:
    truth = BgNbdParams(r=0.8, alpha=20.0, a=0.9, b=3.0)
    x, tx, t_age = simulate_bgnbd(truth, 6000, np.random.default_rng(7))
    fitted = fit_bgnbd(x, tx, t_age)
    assert abs(fitted.r - truth.r) / truth.r < 0.2
    assert abs(fitted.alpha - truth.alpha) / truth.alpha < 0.25
    # a and b are less identified one by one; their mean dropout a/(a+b) is what matters.
    assert abs(fitted.a / (fitted.a + fitted.b) - 0.9 / 3.9) < 0.06


def test_bgnbd_expected_purchases_match_what_simulated_customers_do_next() -> None:
    truth = BgNbdParams(r=0.8, alpha=20.0, a=0.9, b=3.0)
    rng = np.random.default_rng(11)
    x, tx, t_age = simulate_bgnbd(truth, 3000, rng)
    predicted = expected_purchases(truth, x, tx, t_age, 30.0)
    # Unconditional check: E[X(30)] for a new customer equals the closed form at x=0, T=0.
    fresh = expected_purchases(truth, np.zeros(1), np.zeros(1), np.zeros(1), 30.0)[0]
    rates = rng.gamma(truth.r, 1 / truth.alpha, 20000)
    dropout = rng.beta(truth.a, truth.b, 20000)
    counts = np.zeros(20000)
    for i in range(20000):
        now = 0.0
        while True:
            now += rng.exponential(1 / rates[i])
            if now > 30:
                break
            counts[i] += 1
            if rng.random() < dropout[i]:
                break
    assert abs(fresh - counts.mean()) / counts.mean() < 0.05
    assert np.all(predicted >= 0)
    # Customers with more past orders are expected to buy more.
    assert predicted[x >= 5].mean() > predicted[x == 0].mean()


def test_gamma_gamma_fit_recovers_spend_parameters() -> None:
    rng = np.random.default_rng(3)
    p, q, v = 6.0, 4.0, 15.0
    customers = 5000
    x = rng.integers(1, 12, customers).astype(float)
    nu = rng.gamma(q, 1 / v, customers)
    m = np.array([rng.gamma(p, 1 / nu[i], int(x[i])).mean() for i in range(customers)])
    fitted = fit_gamma_gamma(x, m)
    # The mean order value p*v/(q-1) is what the predictions use.
    assert abs(fitted.p * fitted.v / (fitted.q - 1) - p * v / (q - 1)) / (p * v / (q - 1)) < 0.1


def test_hyp2f1_matches_known_closed_forms() -> None:
    z = np.array([0.1, 0.5, 0.9])
    # 2F1(1, 1; 2; z) = -ln(1 - z) / z
    assert np.allclose(hyp2f1(1.0, 1.0, 2.0, z), -np.log(1 - z) / z, rtol=1e-9)
    # 2F1(a, b; b; z) = (1 - z) ** -a
    assert np.allclose(hyp2f1(2.5, 3.0, 3.0, z), (1 - z) ** -2.5, rtol=1e-9)


def test_clv_model_round_trips_through_its_dict() -> None:
    x, tx, t_age = simulate_bgnbd(BgNbdParams(1.0, 10.0, 1.0, 4.0), 500, np.random.default_rng(1))
    m = np.where(x > 0, 40.0 + x, 0.0)
    model = ClvModel.fit(x, tx, t_age, m)
    again = ClvModel.from_dict(model.to_dict())
    assert np.allclose(
        model.expected_spend(x, tx, t_age, m, 30), again.expected_spend(x, tx, t_age, m, 30)
    )
    churn = model.churn_probability(x, tx, t_age, 30)
    assert np.all((churn >= 0) & (churn <= 1))


def test_rfm_ranks_recent_frequent_buyers_as_less_likely_to_churn() -> None:
    rng = np.random.default_rng(5)
    recency = rng.uniform(0, 200, 3000)
    frequency = rng.integers(1, 10, 3000).astype(float)
    monetary = rng.uniform(10, 500, 3000)
    churned = (rng.random(3000) < recency / 200).astype(float)
    model = RfmModel.fit(recency, frequency, monetary, churned, (1 - churned) * monetary / 5)
    fresh = model.churn_probability(np.array([5.0]), np.array([5.0]), np.array([100.0]))
    stale = model.churn_probability(np.array([190.0]), np.array([5.0]), np.array([100.0]))
    assert fresh[0] < 0.3 < stale[0]
