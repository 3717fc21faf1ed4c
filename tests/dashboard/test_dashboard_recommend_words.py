"""The admin page's sentences about recommendations: what the shop shows, what they earned."""

from __future__ import annotations

from shopui import recommend_words as words


def test_the_page_says_when_the_shop_falls_back_to_best_sellers_and_why() -> None:
    impact = {"source": "best_sellers", "model_version": None, "reason": "No model yet."}
    assert words.showing(impact) == (
        "The shop shows its best sellers instead of recommendations for now. No model yet."
    )
    served = {"source": "model", "model_version": "v7", "reason": None}
    assert "learned from your customers' baskets (model version v7)" in words.showing(served)


def test_sales_from_recommendations_read_as_one_sentence_with_money_and_sources() -> None:
    impact = {
        "days": 30,
        "attribution_days": 7,
        "product_views": 12,
        "cart_adds": 1,
        "orders": 3,
        "revenue": "1873.2",
        "orders_by_source": {"often_bought_together": 2, "picked_for_you": 1, "buy_again": 0},
    }
    sentence = words.led_to(impact)
    assert sentence.startswith(
        "In the last 30 days recommendations led to 3 orders worth $1,873.20"
    )
    assert "2 orders from Often bought together; 1 order from Picked for you)" in sentence
    assert "Buy it again" not in sentence
    assert sentence.endswith("They brought 12 product views and 1 cart add.")
    none = words.led_to({**impact, "orders": 0, "cart_adds": 0})
    assert none == (
        "In the last 30 days no order came from a recommendation yet "
        "(12 product views and 0 cart adds did)."
    )


def test_model_quality_compares_each_list_with_best_sellers() -> None:
    metrics = {
        "horizon_days": 30,
        "validation": {
            "picked_for_you": {
                "customers": 246,
                "hit_rate_at_10": 0.4593,
                "coverage": 0.9,
                "popularity": {"hit_rate_at_10": 0.4065, "coverage": 0.17},
            },
            "buy_again": {"customers": 0, "hit_rate_at_10": 0.0, "coverage": 0.0},
        },
    }
    assert words.quality(metrics) == [
        "Picked for you: for 46% of 246 returning customers the top 10 held something they "
        "bought in the following 30 days; best sellers managed 41%."
    ]
