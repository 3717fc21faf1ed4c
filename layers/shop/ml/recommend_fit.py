"""Fit the recommendation model: item-item co-occurrence on scipy sparse matrices.

- Co-occurrence: two products count together once for every basket (order) holding both;
  views and cart adds on the same day by the same customer count too, far more weakly
  (`recommend_data.EVENT_WEIGHTS`, squared in the product).
- Similarity: cosine of the two products' basket counts, shrunk towards zero when they
  share few baskets (`SHRINK`), so one basket that happened to hold two rare products does
  not make them each other's best match. "Often bought together" is each product's best
  matches by it.
- "Picked for you": the customer's purchases (recent ones weigh more) and, weakly, their
  views, through a similarity matrix, plus a weight times the product's popularity;
  products they bought are left out, and best sellers they never bought compete too. The
  similarity (by basket or by customer, leaning more or less towards the popular product)
  and the weight are chosen on the history itself (`choose_blend`): of the grids, the
  choice whose lists, fitted on all but the last days, held most of what was bought new in
  them.
- "Buy it again": each product the customer bought, scored by a recency-weighted count of
  the baskets it was in (`AGAIN_HALF_LIFE_DAYS`): often and lately first.

Everything is precomputed here, so serving reads arrays (`shop.ml.recommendations`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shop.ml.recommend_data import PurchaseHistory
from shop.ml.recommendations import NEIGHBORS, PER_CUSTOMER, POPULAR, RecommendationArrays

#: Co-occurrence counts are multiplied by count / (count + SHRINK).
SHRINK = 2.0
#: Age in days at which a purchase counts half in "buy it again", a purchase counts half in a
#: customer's taste ("picked for you"), and a view or cart add counts half there.
AGAIN_HALF_LIFE_DAYS = 60.0
TASTE_HALF_LIFE_DAYS = 90.0
EVENT_HALF_LIFE_DAYS = 14.0
#: Weights of a product's popularity (1 for the best seller) next to the customer's own
#: scores (1 for their best match) that `choose_blend` tries: 0 ranks by taste alone, a
#: large weight ranks the products that go with the customer's by how well they sell.
BLEND_GRID = (0.0, 0.3, 1.0, 3.0, 10.0, 30.0)
#: How far the similarity of i to j leans towards the more popular j (0.5: the cosine;
#: 1: the share of i's baskets holding j), tried by `choose_blend` with each weight.
LEAN_GRID = (0.5, 0.75, 0.9)
SIMILARITY_LEAN = 0.5
#: What counts two products together, tried by `choose_blend` with each lean and weight:
#: one basket holding both, or one customer having bought both (on the CUSTOMER_ITEMS
#: products most customers bought, which bounds its memory).
TOGETHER_GRID = ("basket", "customer")
CUSTOMER_ITEMS = 3000
#: What is used when the history cannot choose (no customer bought in both periods): the
#: cosine of shared baskets ("often bought together" always uses it) and a weight of 1.
TOGETHER = "basket"
POPULARITY_BLEND = 1.0
#: The length of the lists the blend is chosen on (what the backtest scores).
TOP = 10
#: Customers scored at once for "picked for you" (bounds the memory of one sparse product).
_CHUNK = 1000


@dataclass(frozen=True)
class _Parts:
    """What both the fit and the choice of the blend need, on items 0..n-1."""

    products: NDArray[np.int64]
    users: NDArray[np.int64]
    neighbor_rows: NDArray[np.int64]
    neighbor_scores: NDArray[np.float64]
    popular_items: NDArray[np.intp]
    popularity: NDArray[np.float64]
    bought: Any
    taste: Any
    similarity: Any
    baskets: Any
    event_item: NDArray[np.intp]


def _parts(history: PurchaseHistory, lean: float, together: str) -> _Parts:
    from scipy import sparse

    products = np.unique(np.concatenate([history.line_product, history.event_product]))
    line_item = np.searchsorted(products, history.line_product)
    event_item = np.searchsorted(products, history.event_product)
    n = len(products)
    baskets = _basket_items(sparse, history.line_basket, line_item, n)
    counts = np.asarray(baskets.sum(axis=0), dtype=np.int64).ravel()
    users = np.unique(history.line_user)
    line_user = np.searchsorted(users, history.line_user)
    bought = _matrix(sparse, line_user, line_item, np.ones(len(line_item)), (len(users), n))
    groups = baskets if together == "basket" else _customer_items(sparse, bought)
    similarity = _similarity(sparse, history, groups, event_item, n, lean)
    neighbor_rows, neighbor_scores = _top_per_row(similarity, NEIGHBORS)
    taste = _matrix(
        sparse, line_user, line_item, _decay(history.line_age, TASTE_HALF_LIFE_DAYS), bought.shape
    )
    known = np.isin(history.event_user, users)
    if known.any():
        weights = history.event_weight[known] * _decay(
            history.event_age[known], EVENT_HALF_LIFE_DAYS
        )
        event_rows = np.searchsorted(users, history.event_user[known])
        taste = taste + _matrix(sparse, event_rows, event_item[known], weights, bought.shape)
    return _Parts(
        products=products,
        users=users,
        neighbor_rows=neighbor_rows,
        neighbor_scores=neighbor_scores,
        popular_items=_popular(counts),
        popularity=counts / max(int(counts.max()), 1),
        bought=bought,
        taste=taste.tocsr(),
        similarity=_rows_to_matrix(sparse, neighbor_rows, neighbor_scores, n),
        baskets=baskets,
        event_item=event_item,
    )


def fit_recommendations(
    history: PurchaseHistory,
    blend: float = POPULARITY_BLEND,
    lean: float = SIMILARITY_LEAN,
    together: str = TOGETHER,
) -> RecommendationArrays:
    """The served arrays learned from `history` (empty lists when it holds no orders).

    `blend` weighs popularity in "picked for you", `lean` and `together` shape the
    similarity (`choose_blend` picks them from the history).
    """
    from scipy import sparse

    if not history.has_orders:
        return empty_arrays()
    parts = _parts(history, lean, together)
    line_user = np.searchsorted(parts.users, history.line_user)
    line_item = np.searchsorted(parts.products, history.line_product)
    again = _matrix(
        sparse,
        line_user,
        line_item,
        _decay(history.line_age, AGAIN_HALF_LIFE_DAYS),
        parts.bought.shape,
    )
    picked = [
        _rank(items, values, mine, parts, blend)
        for items, values, mine in _candidates(parts, np.arange(len(parts.users)))
    ]
    again_lists = [_top_of_row(again, row, PER_CUSTOMER) for row in range(len(parts.users))]
    products, rows, scores = parts.products, parts.neighbor_rows, parts.neighbor_scores
    if (together, lean) != ("basket", SIMILARITY_LEAN):
        # "Often bought together" stays what its name says: the cosine of shared baskets.
        together_similarity = _similarity(
            sparse, history, parts.baskets, parts.event_item, len(products), SIMILARITY_LEAN
        )
        rows, scores = _top_per_row(together_similarity, NEIGHBORS)
    padded = np.where(rows >= 0, products[np.maximum(rows, 0)], 0)
    return RecommendationArrays(
        products=products.astype(np.int64),
        neighbor_ids=padded.astype(np.int64),
        neighbor_scores=scores.astype(np.float32),
        users=parts.users.astype(np.int64),
        picked_offsets=_offsets(picked),
        picked_ids=_flat(products, picked),
        again_offsets=_offsets(again_lists),
        again_ids=_flat(products, again_lists),
        popular=products[parts.popular_items[:POPULAR]].astype(np.int64),
    )


def choose_blend(history: PurchaseHistory, days: int) -> dict[str, Any]:
    """What counts together, the similarity lean and the popularity weight of "picked for
    you" that did best on the history's last `days`.

    Each choice of TOGETHER_GRID, LEAN_GRID and BLEND_GRID ranks the lists of a model
    fitted on the history before those days; a hit is a top 10 holding a product the
    customer buys in them for the first time (the backtest's rule). The choice with most
    hits wins, the first on a tie; best sellers are scored alongside. Nothing after the
    history's `as_of` is read.
    """
    early, after = history.split(days)
    chosen: dict[str, Any] = {
        "together": TOGETHER,
        "lean": SIMILARITY_LEAN,
        "blend": POPULARITY_BLEND,
        "days": days,
        "customers": 0,
    }
    if not early.has_orders:
        return chosen
    shapes = [(together, lean) for together in TOGETHER_GRID for lean in LEAN_GRID]
    grid = [(*shape, blend) for shape in shapes for blend in BLEND_GRID]
    hits = np.zeros(len(grid) + 1, dtype=np.int64)
    customers = 0
    for n, (together, lean) in enumerate(shapes):
        parts = _parts(early, lean, together)
        index = {int(p): i for i, p in enumerate(parts.products.tolist())}
        rows = [r for r, u in enumerate(parts.users.tolist()) if u in after]
        customers = len(rows)
        for (items, values, mine), row in zip(
            _candidates(parts, np.asarray(rows, dtype=np.int64)), rows, strict=True
        ):
            owned = set(mine.tolist())
            wanted = {index[p] for p in after[int(parts.users[row])] if p in index} - owned
            for k, blend in enumerate(BLEND_GRID):
                ranked = _rank(items, values, mine, parts, blend)[:TOP]
                hits[n * len(BLEND_GRID) + k] += not wanted.isdisjoint(ranked)
            if n == 0:
                head = parts.popular_items[: TOP + len(owned)].tolist()
                hits[-1] += not wanted.isdisjoint([i for i in head if i not in owned][:TOP])
    if not customers:
        return chosen
    best = int(np.argmax(hits[:-1]))
    rates = hits / customers
    return {
        "together": grid[best][0],
        "lean": grid[best][1],
        "blend": grid[best][2],
        "days": days,
        "customers": customers,
        "hit_rate_at_10": {
            f"{together}, lean {lean}, blend {blend}": round(float(rate), 4)
            for (together, lean, blend), rate in zip(grid, rates, strict=False)
        },
        "popularity_hit_rate_at_10": round(float(rates[-1]), 4),
    }


def _matrix(sparse: Any, rows: Any, cols: Any, values: Any, shape: tuple[int, int]) -> Any:
    """A CSR matrix summing `values` at (rows, cols)."""
    return sparse.csr_matrix((values, (rows, cols)), shape=shape)


def _decay(age_days: NDArray[np.float64], half_life: float) -> NDArray[np.float64]:
    return np.asarray(np.exp2(-np.maximum(age_days, 0.0) / half_life))


def _basket_items(
    sparse: Any, line_basket: NDArray[np.int64], line_item: NDArray[np.intp], n: int
) -> Any:
    """Baskets x items, 1 where the basket holds the item (twice in a basket is once)."""
    _, basket_row = np.unique(line_basket, return_inverse=True)
    shape = (int(basket_row.max()) + 1, n)
    basket_items = _matrix(sparse, basket_row, line_item, np.ones(len(line_item)), shape)
    basket_items.data[:] = 1.0
    return basket_items


def _customer_items(sparse: Any, bought: Any) -> Any:
    """Customers x items, 1 where the customer bought the item, on the CUSTOMER_ITEMS items
    most customers bought (what goes together by customer is far denser than by basket)."""
    owned = bought.copy()
    owned.data[:] = 1.0
    owners = np.asarray(owned.sum(axis=0)).ravel()
    keep = np.zeros(len(owners))
    keep[np.argsort(-owners, kind="stable")[:CUSTOMER_ITEMS]] = 1.0
    keep[owners < 2] = 0.0
    kept = (owned @ sparse.diags(keep)).tocsr()
    kept.eliminate_zeros()
    return kept


def _similarity(
    sparse: Any,
    history: PurchaseHistory,
    basket_items: Any,
    event_item: NDArray[np.intp],
    n: int,
    lean: float,
) -> Any:
    """Shrunk similarity of every two products (CSR, zero diagonal): `c / (n_i^lean
    n_j^(1 - lean))`, the cosine at lean 0.5, "who bought i also bought j" at 1."""
    counts = (basket_items.T @ basket_items).tocsr()
    if len(event_item):
        day = np.floor(history.event_age).astype(np.int64)
        # One visit per customer and day (ages stay far below 2**20 days).
        _, visit = np.unique(history.event_user * (1 << 20) + day, return_inverse=True)
        visits = _matrix(
            sparse, visit.ravel(), event_item, history.event_weight, (int(visit.max()) + 1, n)
        )
        visits.data = np.minimum(visits.data, max(history.event_weight.max(), 0.0))
        counts = counts + (visits.T @ visits).tocsr()
    support = counts.diagonal()
    counts.setdiag(0)
    counts.eliminate_zeros()
    coo = counts.tocoo()
    norm = support[coo.row] ** lean * support[coo.col] ** (1.0 - lean)
    values = coo.data / np.maximum(norm, 1e-12) * (coo.data / (coo.data + SHRINK))
    return sparse.csr_matrix((values, (coo.row, coo.col)), shape=(n, n))


def _top_per_row(matrix: Any, k: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Each row's k largest entries: (column indices, -1 padded; values, 0 padded)."""
    n = matrix.shape[0]
    columns = np.full((n, k), -1, dtype=np.int64)
    values = np.zeros((n, k), dtype=np.float64)
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    for row in range(n):
        start, end = indptr[row], indptr[row + 1]
        if start == end:
            continue
        top = _best(data[start:end], k)
        columns[row, : len(top)] = indices[start:end][top]
        values[row, : len(top)] = data[start:end][top]
    return columns, values


def _best(scores: NDArray[np.float64], k: int) -> NDArray[np.intp]:
    """Positions of the k highest scores, highest first (ties: lower position first)."""
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        return part[np.lexsort((part, -scores[part]))]
    return np.lexsort((np.arange(len(scores)), -scores))


def _rows_to_matrix(
    sparse: Any, columns: NDArray[np.int64], values: NDArray[np.float64], n: int
) -> Any:
    rows = np.repeat(np.arange(n), columns.shape[1])
    keep = columns.ravel() >= 0
    return _matrix(sparse, rows[keep], columns.ravel()[keep], values.ravel()[keep], (n, n))


def _popular(counts: NDArray[np.int64]) -> NDArray[np.intp]:
    """Items by the number of baskets holding them, most first (ties: lower item first)."""
    order = np.lexsort((np.arange(len(counts)), -counts))
    return order[counts[order] > 0]


def popular_products(history: PurchaseHistory) -> list[int]:
    """The best sellers of `history` (by baskets), most first: the popularity baseline."""
    from scipy import sparse

    if not history.has_orders:
        return []
    products = np.unique(history.line_product)
    line_item = np.searchsorted(products, history.line_product)
    baskets = _basket_items(sparse, history.line_basket, line_item, len(products))
    items = _popular(np.asarray(baskets.sum(axis=0), dtype=np.int64).ravel())
    return products[items].tolist()


def _candidates(
    parts: _Parts, rows: NDArray[np.int64]
) -> Iterator[tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.intp]]]:
    """For each customer row: the items their taste reaches and the best sellers, all never
    bought, with the scores normalised to their best match; and the items they bought."""
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        scores = (parts.taste[chunk] @ parts.similarity).tocsr()
        owned = parts.bought[chunk]
        scores = (scores - scores.multiply(owned > 0)).tocsr()  # never what they bought
        scores.eliminate_zeros()
        for row in range(scores.shape[0]):
            mine = owned.indices[owned.indptr[row] : owned.indptr[row + 1]]
            begin, end = scores.indptr[row], scores.indptr[row + 1]
            items, values = scores.indices[begin:end], scores.data[begin:end]
            if len(values):
                values = values / values.max()
            # The best sellers they never bought compete too (at no affinity), so a large
            # blend ranks as best sellers do.
            head = parts.popular_items[: PER_CUSTOMER + len(mine)]
            head = head[~np.isin(head, mine) & ~np.isin(head, items)]
            yield (
                np.concatenate([items, head]),
                np.concatenate([values, np.zeros(len(head))]),
                mine,
            )


def _rank(
    items: NDArray[np.intp],
    values: NDArray[np.float64],
    mine: NDArray[np.intp],
    parts: _Parts,
    blend: float,
) -> list[int]:
    """One customer's top PER_CUSTOMER items they never bought, best first."""
    ranked: list[int] = items[
        _best(values + blend * parts.popularity[items], PER_CUSTOMER)
    ].tolist()
    if len(ranked) < PER_CUSTOMER:
        taken = set(mine.tolist()) | set(ranked)
        for item in parts.popular_items.tolist():
            if item not in taken:
                ranked.append(item)
                if len(ranked) == PER_CUSTOMER:
                    break
    return ranked


def _top_of_row(matrix: Any, row: int, k: int) -> list[int]:
    begin, end = matrix.indptr[row], matrix.indptr[row + 1]
    items, values = matrix.indices[begin:end], matrix.data[begin:end]
    return [int(i) for i in items[_best(values, k)]]


def _offsets(lists: list[Any]) -> NDArray[np.int64]:
    return np.concatenate([[0], np.cumsum([len(items) for items in lists])]).astype(np.int64)


def _flat(products: NDArray[np.int64], lists: list[Any]) -> NDArray[np.int64]:
    items = np.concatenate([np.zeros(0, dtype=np.int64), *(np.asarray(i, np.int64) for i in lists)])
    return products[items].astype(np.int64)


def empty_arrays() -> RecommendationArrays:
    """A model of a shop without orders: every list empty."""
    none = np.zeros(0, dtype=np.int64)
    return RecommendationArrays(
        products=none,
        neighbor_ids=np.zeros((0, NEIGHBORS), dtype=np.int64),
        neighbor_scores=np.zeros((0, NEIGHBORS), dtype=np.float32),
        users=none,
        picked_offsets=np.zeros(1, dtype=np.int64),
        picked_ids=none,
        again_offsets=np.zeros(1, dtype=np.int64),
        again_ids=none,
        popular=none,
    )
