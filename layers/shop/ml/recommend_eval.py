"""How good the recommendations are on a held-out period, against best sellers.

Fit on everything before a cutoff, then look at the customers who bought both before it and
in the `horizon_days` after it:

- picked for you: a hit when the top 10 holds a product the customer had never bought
  before the cutoff and buys in the horizon (products already bought are never listed);
- buy it again: a hit when the top 10 holds any product bought in the horizon;
- popularity: the best sellers before the cutoff (by baskets), for the same customers under
  the same rule (for picked for you, those the customer never bought);
- coverage: the share of the products sold before the cutoff that appear in anyone's top 10.

Picked for you's similarity and weight of popularity are chosen on the `horizon_days`
before the cutoff (`recommend_fit.choose_blend`), so nothing after the cutoff is read to fit.

The rankings are scored as they are; stock and the active flag are left to serving.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shop.ml.recommend_data import PurchaseHistory, load_history, purchases_between
from shop.ml.recommend_fit import choose_blend, fit_recommendations, popular_products
from shop.ml.recommendations import RecommendationArrays

TOP = 10
LISTS = ("picked_for_you", "buy_again")


def backtest_recommendations(
    session: Session, cutoff: datetime, horizon_days: int
) -> dict[str, Any]:
    """The `recommendations` object of `shopfn ml backtest` for this cutoff and horizon."""
    history = load_history(session, cutoff)
    choice = choose_blend(history, horizon_days)
    model = fit_recommendations(history, choice["blend"], choice["lean"], choice["together"])
    after = purchases_between(session, cutoff, cutoff + timedelta(days=horizon_days))
    return score_recommendations(model, history, after)


def score_recommendations(
    model: RecommendationArrays, history: PurchaseHistory, after: dict[int, set[int]]
) -> dict[str, Any]:
    """Hit rate at 10 and coverage of the model and of best sellers (see the module doc)."""
    before = history.bought_before()
    customers = sorted(u for u in after if u in before)
    sold = len(set(history.line_product.tolist()))
    popular = popular_products(history)

    def picked(user: int) -> list[int]:
        return (model.picked_for(user) or [])[:TOP]

    def popular_new(user: int) -> list[int]:
        return _first(p for p in popular if p not in before[user])

    def new_bought(user: int) -> set[int]:
        return after[user] - before[user]

    return {
        "picked_for_you": {
            **_score(customers, picked, new_bought, sold),
            "popularity": _score(customers, popular_new, new_bought, sold, brief=True),
        },
        "buy_again": {
            **_score(customers, lambda u: model.buy_again(u)[:TOP], after.__getitem__, sold),
            "popularity": _score(
                customers, lambda _u: popular[:TOP], after.__getitem__, sold, brief=True
            ),
        },
    }


def _first(items: Iterable[int]) -> list[int]:
    top: list[int] = []
    for item in items:
        top.append(item)
        if len(top) == TOP:
            break
    return top


def _score(
    customers: list[int],
    ranking: Callable[[int], list[int]],
    wanted: Callable[[int], set[int]],
    sold: int,
    *,
    brief: bool = False,
) -> dict[str, Any]:
    hits = 0
    shown: set[int] = set()
    for user in customers:
        top = ranking(user)
        shown.update(top)
        hits += not wanted(user).isdisjoint(top)
    scores: dict[str, Any] = {
        "hit_rate_at_10": round(hits / len(customers), 4) if customers else 0.0,
        "coverage": round(len(shown) / sold, 4) if sold else 0.0,
    }
    return scores if brief else {"customers": len(customers), **scores}


def beats_popularity(scores: dict[str, Any]) -> bool:
    """Whether picked for you and buy it again both hit more often than best sellers."""
    return all(
        scores[name]["customers"] > 0
        and scores[name]["hit_rate_at_10"] > scores[name]["popularity"]["hit_rate_at_10"]
        for name in LISTS
    )


def describe(scores: dict[str, Any]) -> list[str]:
    """One sentence per list, for a shop owner."""
    lines = []
    for name, label in (("picked_for_you", "Picked for you"), ("buy_again", "Buy it again")):
        part = scores[name]
        if not part["customers"]:
            lines.append(f"{label}: no customer bought both before and after the cutoff.")
            continue
        ours = part["hit_rate_at_10"] * 100
        theirs = part["popularity"]["hit_rate_at_10"] * 100
        verdict = "better than" if ours > theirs else "no better than"
        lines.append(
            f"{label}: for {ours:.0f}% of {part['customers']} returning customers the top 10 "
            f"held something they then bought; best sellers did that for {theirs:.0f}%, so "
            f"the recommendations are {verdict} best sellers. They show "
            f"{part['coverage'] * 100:.0f}% of the products (best sellers "
            f"{part['popularity']['coverage'] * 100:.0f}%)."
        )
    return lines
