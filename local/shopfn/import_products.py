"""The products of an imported log's lines, by the shop's own product code (a SKU).

A code already in the catalog is that product. An unknown code becomes one new product,
however many descriptions the log gives it: named after the description of its latest line,
priced at that line's unit price, in the "Imported" category, not on sale and with no stock
until an admin publishes it. The log is read in time order only roughly, so a product is
made when its code is first written and given its latest line's name and price at the end.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from decimal import Decimal

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.models import Product
from shop.services.catalog import slugify
from shopfn.bulk_rows import BulkInsert, converter
from shopfn.transaction_log import Transaction

CATEGORY = "Imported"
#: A product needs a price above zero: the price of a code whose lines all cost nothing.
NO_PRICE = Decimal("0.01")
_CENT = Decimal("0.01")
_PRODUCTS: Table = Product.__table__  # type: ignore[assignment]
_LOOKUP_CHUNK = 1000
_COLUMNS: tuple[str, ...] = ("sku", "name", "description", "category", "category_slug")
_COLUMNS += ("price", "stock", "is_active", "created_at", "updated_at")

_RENAME_POSTGRESQL = text(
    """
    UPDATE products SET name = new.name, price = new.price
    FROM unnest(
        string_to_array(:ids, ',')::int[],
        ARRAY(SELECT json_array_elements_text(CAST(:names AS json))),
        string_to_array(:prices, ',')::numeric[]
    ) AS new(id, name, price)
    WHERE products.id = new.id
    """
)


class ProductCodes:
    """Product ids by code for the writers; `note` runs on the reading thread (each batch),
    `ids` and `finish` on the writing one."""

    def __init__(self, session: Session) -> None:
        self.session = session
        dialect = session.get_bind().dialect
        #: code -> (product id, the name its lines take when they have no description)
        self.known: dict[str, tuple[int, str]] = {}
        #: code -> (name, price) of the products this import made
        self.created: dict[str, tuple[str, Decimal]] = {}
        #: code -> its latest line so far
        self.latest: dict[str, Transaction] = {}
        self.to_money = converter(Product.__table__.c.price, dialect)
        self.to_time = converter(Product.__table__.c.created_at, dialect)
        self.inactive = converter(Product.__table__.c.is_active, dialect)(False)
        self.insert: BulkInsert | None = None

    def note(self, lines: Iterable[Transaction]) -> None:
        """Remember each code's latest line: the name and price of a product made for it."""
        latest = self.latest
        for t in lines:
            seen = latest.get(t.product)  # type: ignore[arg-type]
            if seen is None or t.at >= seen.at:
                latest[t.product] = t  # type: ignore[index]

    def ids(self, codes: Collection[str]) -> dict[str, tuple[int, str]]:
        """(product id, name) of every code, making the products the catalog lacks."""
        known = self.known
        wanted = [code for code in codes if code not in known]
        if wanted:
            self._find(wanted)
            missing = [code for code in wanted if code not in known]
            if missing:
                self._create(missing)
                self._find(missing)
        return known

    def _find(self, codes: list[str]) -> None:
        """Remember the products of these codes that the catalog has (SKUs compare exactly,
        letter case included, on every database: `shop.coltypes.ExactString`)."""
        for start in range(0, len(codes), _LOOKUP_CHUNK):
            rows = self.session.execute(
                select(Product.sku, Product.id, Product.name).where(
                    Product.sku.in_(codes[start : start + _LOOKUP_CHUNK])
                )
            )
            for sku, product_id, name in rows:
                self.known[sku] = (product_id, name)

    def _create(self, codes: list[str]) -> None:
        if self.insert is None:
            self.insert = BulkInsert(self.session.connection(), _PRODUCTS, _COLUMNS)
        now = self.to_time(utcnow())
        slug = slugify(CATEGORY)
        rows = []
        for code in codes:
            name, price = _named(self.latest.get(code), code, NO_PRICE)
            self.created[code] = (name, price)
            money = self.to_money(price)
            rows.append((code, name, "", CATEGORY, slug, money, 0, self.inactive, now, now))
        self.insert.insert(rows)

    def finish(self) -> int:
        """Give the products made here their latest line's name and price; how many were made."""
        changed: list[tuple[int, str, Decimal]] = []
        for code, (name, price) in self.created.items():
            new_name, new_price = _named(self.latest.get(code), name, price)
            if (new_name, new_price) != (name, price):
                changed.append((self.known[code][0], new_name, new_price))
        if changed and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(
                _RENAME_POSTGRESQL,
                {
                    "ids": ",".join(str(row[0]) for row in changed),
                    "names": json.dumps([row[1] for row in changed]),
                    "prices": ",".join(str(row[2]) for row in changed),
                },
            )
        elif changed:
            self.session.execute(
                _PRODUCTS.update()
                .where(_PRODUCTS.c.id == bindparam("product_id"))
                .values(name=bindparam("new_name"), price=bindparam("new_price")),
                [{"product_id": i, "new_name": n, "new_price": p} for i, n, p in changed],
            )
        return len(self.created)


def _named(line: Transaction | None, name: str, price: Decimal) -> tuple[str, Decimal]:
    """The name and price `line` gives a product (its description, its unit price), each
    falling back to `name` and `price` where the line has none (no description, a zero
    amount)."""
    if line is None:
        return name, price
    unit = abs(line.amount / line.quantity).quantize(_CENT)
    return line.description or name, unit if unit > 0 else price
