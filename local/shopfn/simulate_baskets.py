"""What simulated shoppers put in a basket: products that go together, and their usuals.

Real baskets are not random draws from the catalog: a few products sell far more than the
rest, products of one category are bought together (a tent with a sleeping bag), and
customers buy their usual products again. The recommendation model learns exactly these, so
the simulation has them:

- every product has a popularity (Zipf-like, in a random order);
- each shopper has a favourite category and two or three usual products;
- a basket starts from a usual product (REPEAT), a product of the favourite category, or a
  popular one; each further line comes from the first line's category (TOGETHER) or is a
  popular product.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

Product = tuple[int, str, Decimal]

#: Chance that a basket starts with one of the shopper's usual products.
REPEAT = 0.45
#: Chance that a basket starts in the shopper's favourite category (when not a usual product).
FAVOURITE_CATEGORY = 0.5
#: Chance that a further line comes from the first line's category.
TOGETHER = 0.7


@dataclass(frozen=True)
class Taste:
    usual: list[Product]
    category: str


class BasketPicker:
    """Draws baskets for shoppers from a catalog of (product, category) pairs."""

    def __init__(self, rng: random.Random, catalog: list[tuple[Product, str]]) -> None:
        self.products = [product for product, _ in catalog]
        self.category_of = {product[0]: category for product, category in catalog}
        self.by_category: dict[str, list[Product]] = {}
        for product, category in catalog:
            self.by_category.setdefault(category, []).append(product)
        ranks = list(range(1, len(self.products) + 1))
        rng.shuffle(ranks)
        self.weights = [1.0 / rank**0.8 for rank in ranks]

    def popular(self, rng: random.Random) -> Product:
        return rng.choices(self.products, weights=self.weights)[0]

    def taste(self, rng: random.Random) -> Taste:
        usual = [self.popular(rng) for _ in range(rng.randint(2, 3))]
        return Taste(usual, self.category_of[rng.choice(usual)[0]])

    def basket(self, rng: random.Random, taste: Taste, lines: int) -> list[Product]:
        """`lines` different products (fewer if the catalog is smaller)."""
        lines = min(lines, len(self.products))
        if rng.random() < REPEAT:
            first = rng.choice(taste.usual)
        elif rng.random() < FAVOURITE_CATEGORY:
            first = rng.choice(self.by_category[taste.category])
        else:
            first = self.popular(rng)
        picks = {first[0]: first}
        related = self.by_category[self.category_of[first[0]]]
        attempts = 0
        while len(picks) < lines and attempts < lines * 20:
            attempts += 1
            product = rng.choice(related) if rng.random() < TOGETHER else self.popular(rng)
            picks.setdefault(product[0], product)
        return list(picks.values())
