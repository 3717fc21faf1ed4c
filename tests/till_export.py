"""A grocery chain's till export, written by the tests: one line per item, basket by basket.

Shaped like the issue's year of a real grocery file (issue 26), scaled by its line count:
- one basket for every 10 lines, of 1 to 19 different products; a household for every 600
  lines (2,500 at 1.5 million lines), and one basket in ten from a one-time shopper;
- each household shops at its own rate, about weekly, with gaps more regular than random
  (people restock), and may stop coming after any visit (`simulate_transactions`' story);
- a product for every 21 lines (70,000 at 1.5 million): a popular head of a few thousand
  with Zipf-like sales, and a long tail bought now and then; products sit in aisles;
- each household has its staples (bought again and again) and two favourite aisles, so
  what a household buys next is mostly what it bought before, and what households with
  the same aisles buy goes together;
- a description that sometimes changes, 1% returns and 0.5% repeated lines, in time order,
  a basket's lines sharing its time.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from shopfn.simulate_transactions import BuyingHabits, first_order_at, purchase_times

HEADER = "basket_id,customer,product_code,description,quantity,line_total,timestamp\n"
#: The import's flags for this layout.
COLUMNS: tuple[str, ...] = ("--invoice-column", "basket_id", "--customer-column", "customer")
COLUMNS += ("--product-column", "product_code", "--description-column", "description")
COLUMNS += ("--amount-column", "line_total", "--date-column", "timestamp")
START = datetime(2025, 1, 1)
DAYS = 365
#: Households' visits: about every 5 days, fairly regular; about 1 in 150 visits is the last.
GROCERY = BuyingHabits(
    rate_shape=4.0,
    mean_days_between_orders=5.0,
    dropout_a=1.0,
    dropout_b=150.0,
    season_amplitude=0.1,
    regularity=3.0,
)
#: Where a line's product comes from: a staple, a favourite aisle, the popular head, the tail.
STAPLE, AISLE, HEAD = 0.55, 0.15, 0.12
AISLE_SIZE = 250


@dataclass(frozen=True)
class TillExport:
    """What was written: distinct lines (repeats left out), product codes, baskets, households."""

    lines: int
    codes: int
    baskets: int
    households: int


class _Catalog:
    """Product codes with their aisle and popularity (the head: the first `head` codes)."""

    def __init__(self, rng: random.Random, products: int) -> None:
        self.products = products
        self.head = min(products, max(50, products * 4 // 70))
        self.aisles = max(1, products // AISLE_SIZE)
        self.cum_weights = list(itertools.accumulate(1.0 / r**0.8 for r in range(1, self.head + 1)))
        self.head_of_aisle = [
            [c for c in range(self.head) if c % self.aisles == a] or [a % self.head]
            for a in range(self.aisles)
        ]

    def popular(self, rng: random.Random) -> int:
        return bisect.bisect_left(self.cum_weights, rng.random() * self.cum_weights[-1])

    def in_aisle(self, rng: random.Random, aisle: int) -> int:
        """A product of the aisle: mostly from its popular head, sometimes from its tail."""
        if rng.random() < 0.7:
            return rng.choice(self.head_of_aisle[aisle])
        return rng.randrange(self.products // self.aisles) * self.aisles + aisle


@dataclass(frozen=True)
class _Household:
    name: str
    staples: list[int]
    staple_weights: list[float]
    aisles: tuple[int, int]


def _household(rng: random.Random, catalog: _Catalog, n: int) -> _Household:
    aisles = (rng.randrange(catalog.aisles), rng.randrange(catalog.aisles))
    staples: set[int] = set()
    for _ in range(rng.randint(15, 40)):
        staples.add(
            catalog.in_aisle(rng, rng.choice(aisles))
            if rng.random() < 0.5
            else catalog.popular(rng)
        )
    ordered = sorted(staples)
    weights = list(itertools.accumulate(rng.paretovariate(1.2) for _ in ordered))
    return _Household(f"H{n}", ordered, weights, aisles)


def _pick(rng: random.Random, catalog: _Catalog, household: _Household | None) -> int:
    draw = rng.random()
    if household is not None and draw < STAPLE:
        weights = household.staple_weights
        return household.staples[bisect.bisect_left(weights, rng.random() * weights[-1])]
    if household is not None and draw < STAPLE + AISLE:
        return catalog.in_aisle(rng, rng.choice(household.aisles))
    if rng.random() < HEAD / (1 - STAPLE - AISLE):
        return catalog.popular(rng)
    return rng.randrange(catalog.products)


def write_till_export(
    path: Path, lines: int, seed: int = 26, start: datetime = START
) -> TillExport:
    """Write `lines` till lines to `path` (CSV, `HEADER`) from `start` on; what was written.

    The lines run out about 350 days after `start` (the visits go on to 365 days).
    """
    rng = random.Random(seed)
    target_baskets = lines // 10
    catalog = _Catalog(rng, max(100, lines * 7 // 150))
    households = [_household(rng, catalog, n) for n in range(max(10, lines // 600))]
    end = start + timedelta(days=DAYS)
    visits: list[tuple[datetime, int]] = []
    for n in range(len(households)):
        first = first_order_at(rng, start, DAYS)
        visits.extend((at, n) for at in purchase_times(rng, first, end, GROCERY))
    # One-time shoppers fill up to the basket count (at least one basket in ten), with some
    # to spare: the file stops at `lines`.
    strangers = max(target_baskets // 10, target_baskets * 21 // 20 - len(visits))
    visits.extend(
        (start + timedelta(seconds=rng.uniform(0, DAYS * 86400)), -1) for _ in range(strangers)
    )
    visits.sort()
    written = repeated = baskets = 0
    codes: set[int] = set()
    seen: set[int] = set()
    previous = ""
    with path.open("w") as out:
        out.write(HEADER)
        for basket, (at, n) in enumerate(visits, start=1):
            if written >= lines:
                break
            household = households[n] if n >= 0 else None
            if household is not None:
                seen.add(n)
            customer = household.name if household else f"S{rng.randrange(10**6)}"
            in_basket: set[int] = set()
            baskets += 1
            for _n in range(min(rng.randint(1, 19), lines - written)):
                if previous and rng.random() < 0.005:
                    out.write(previous)
                    repeated += 1
                    written += 1
                    continue
                code = _pick(rng, catalog, household)
                while code in in_basket:
                    code = rng.randrange(catalog.products)
                in_basket.add(code)
                codes.add(code)
                name = f"Item {code} {'large' if rng.random() < 0.05 else 'regular'} pack"
                quantity = rng.randint(1, 4)
                cents = quantity * (99 + code % 900)
                if rng.random() < 0.01:
                    quantity, cents = -quantity, -cents
                total = f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"
                previous = (
                    f"{basket},{customer},P{code:06d},{name},{quantity},{total},"
                    f"{at:%Y-%m-%d %H:%M:%S}\n"
                )
                out.write(previous)
                written += 1
    return TillExport(written - repeated, len(codes), baskets, len(seen))
