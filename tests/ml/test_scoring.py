"""A one-row prediction takes its own fast path, and it gives what the vectorized path gives."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from shop.ml.features import FEATURE_INDEX, FeatureFrame

RANDOM_ROWS = 2000


def _random_rows(frame: FeatureFrame, count: int, seed: int) -> FeatureFrame:
    """`count` rows like the shop's, scaled at random, with edge cases of the CLV inputs.

    Orders are whole and sometimes none, recency never exceeds tenure; the first rows have
    no tenure at all, the next ones a single order on the first day.
    """
    rng = np.random.default_rng(seed)
    matrix = frame.matrix[rng.integers(0, len(frame.matrix), count)]
    matrix = matrix * rng.lognormal(0.0, 0.3, matrix.shape)
    orders = rng.integers(0, 40, count).astype(np.float64)
    orders[rng.random(count) < 0.2] = 0.0
    tenure = rng.uniform(0.0, 500.0, count)
    tenure[:20] = 0.0
    recency = tenure * rng.uniform(0.0, 1.0, count)
    recency[20:40], orders[20:40] = tenure[20:40], 1.0
    spend = orders * rng.lognormal(4.0, 1.0, count)
    for name, column in (
        ("frequency", orders),
        ("tenure_days", tenure),
        ("recency_days", recency),
        ("monetary_total", spend),
        ("avg_order_value", np.where(orders > 0, spend / np.maximum(orders, 1.0), 0.0)),
    ):
        matrix[:, FEATURE_INDEX[name]] = column
    return FeatureFrame(frame.as_of, np.arange(count, dtype=np.int64), matrix)


def _rows(frame: FeatureFrame) -> list[FeatureFrame]:
    return [
        FeatureFrame(frame.as_of, frame.user_ids[i : i + 1], frame.matrix[i : i + 1])
        for i in range(len(frame.user_ids))
    ]


def _shop_and_random_rows(shop_frame: FeatureFrame) -> FeatureFrame:
    extra = _random_rows(shop_frame, RANDOM_ROWS, seed=5)
    return FeatureFrame(
        shop_frame.as_of,
        np.concatenate([shop_frame.user_ids, extra.user_ids]),
        np.vstack([shop_frame.matrix, extra.matrix]),
    )


@pytest.mark.parametrize("kind", ["gbm", "bgnbd", "rfm"])
@pytest.mark.parametrize("name", ["churn", "spend"])
def test_one_row_prediction_equals_the_vectorized_prediction_of_that_row(
    fitted_candidates: tuple[dict, FeatureFrame], name: str, kind: str
) -> None:
    candidates, shop_frame = fitted_candidates
    model = next(c for c in candidates[name] if c.kind == kind).serving()
    frame = _shop_and_random_rows(shop_frame)

    vectorized = model.predict(frame)
    one_by_one = np.array([model.predict(row)[0] for row in _rows(frame)])

    assert vectorized.shape == one_by_one.shape == (len(frame.user_ids),)
    # Relative too: on more than 16 rows hyp2f1 sums its series vectorized and stops at the
    # same 1e-12 but for all rows at once, so BG/NBD spend differs by ~1e-11 of the amount
    # between one row and many, as it always has.
    np.testing.assert_allclose(one_by_one, vectorized, rtol=1e-9, atol=1e-9)


def test_one_row_gradient_boosting_predictions_from_many_threads_stay_apart(
    fitted_candidates: tuple[dict, FeatureFrame],
) -> None:
    """The one-row input buffer is shared by the model's callers: a lock keeps rows apart."""
    candidates, shop_frame = fitted_candidates
    model = next(c for c in candidates["spend"] if c.kind == "gbm").serving()
    frame = _shop_and_random_rows(shop_frame)

    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = np.array(list(pool.map(lambda row: model.predict(row)[0], _rows(frame))))

    np.testing.assert_allclose(concurrent, model.predict(frame), rtol=1e-9, atol=1e-9)
