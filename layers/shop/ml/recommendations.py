"""The recommendation model as served: precomputed arrays read with numpy alone.

Training (`shop.ml.recommend_fit`, scipy) leaves everything serving needs in one `.npz`:

- for each product, its `NEIGHBORS` most related products (item-item co-occurrence), best
  first: "Often bought together";
- for each customer, a ranked list of products they never bought: "Picked for you";
- for each customer, the products they buy often and lately: "Buy it again";
- the best sellers, for customers the model does not know yet.

A lookup is a binary search and a slice, so one product or one customer costs microseconds;
the stock and the active flag are checked afterwards, against the database
(`shop.ml.recommend_serving`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Related products kept per product, and ranked products kept per customer list: more than
#: a page shows, so that some can be out of stock and the page is still full.
NEIGHBORS = 40
PER_CUSTOMER = 30
POPULAR = 100
_FIELDS = (
    "products",
    "neighbor_ids",
    "neighbor_scores",
    "users",
    "picked_offsets",
    "picked_ids",
    "again_offsets",
    "again_ids",
    "popular",
)


@dataclass(frozen=True)
class RecommendationArrays:
    """Everything the recommendation routes read; product and user ids sorted for search."""

    products: NDArray[np.int64]
    #: (len(products), NEIGHBORS) product ids, 0 where a product has fewer neighbors.
    neighbor_ids: NDArray[np.int64]
    neighbor_scores: NDArray[np.float32]
    users: NDArray[np.int64]
    #: Customer i's lists are ids[offsets[i]:offsets[i + 1]], best first.
    picked_offsets: NDArray[np.int64]
    picked_ids: NDArray[np.int64]
    again_offsets: NDArray[np.int64]
    again_ids: NDArray[np.int64]
    popular: NDArray[np.int64]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{name: getattr(self, name) for name in _FIELDS})
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RecommendationArrays:
        """The arrays of a verified artifact (no pickles: `allow_pickle=False`)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls(**{name: stored[name] for name in _FIELDS})

    def _row(self, ids: NDArray[np.int64], key: int) -> int | None:
        at = int(np.searchsorted(ids, key))
        return at if at < len(ids) and int(ids[at]) == key else None

    def together(self, product_ids: Sequence[int]) -> list[int]:
        """Products bought with these, best first, the given ones left out.

        For several products (a cart) the neighbor scores add up, so a product related to
        more of the cart ranks higher.
        """
        given = set(product_ids)
        if len(given) == 1:
            row = self._row(self.products, product_ids[0])
            if row is None:
                return []
            ids = self.neighbor_ids[row].tolist()
            return [p for p in ids if p and p not in given]
        totals: dict[int, float] = {}
        for product_id in given:
            row = self._row(self.products, product_id)
            if row is None:
                continue
            ids = self.neighbor_ids[row].tolist()
            scores = self.neighbor_scores[row].tolist()
            for other, score in zip(ids, scores, strict=True):
                if other and other not in given:
                    totals[other] = totals.get(other, 0.0) + score
        return sorted(totals, key=lambda p: (-totals[p], p))

    def picked_for(self, user_id: int) -> list[int] | None:
        """The customer's ranked products they never bought; None for an unknown customer."""
        row = self._row(self.users, user_id)
        if row is None:
            return None
        return self.picked_ids[self.picked_offsets[row] : self.picked_offsets[row + 1]].tolist()

    def buy_again(self, user_id: int) -> list[int]:
        """The customer's past purchases, most likely to be bought again first."""
        row = self._row(self.users, user_id)
        if row is None:
            return []
        return self.again_ids[self.again_offsets[row] : self.again_offsets[row + 1]].tolist()
