"""The basket import's writer for PostgreSQL: each batch of lines in one statement.

As in `import_postgresql`, the batch goes out as one text parameter per column and is
unpacked by `unnest` on the server. The statement keeps the lines not imported before (by
their key on `order_items`), sums them per basket, inserts each basket's order or grows the
one an earlier import made (`ON CONFLICT (import_key) DO UPDATE`), then inserts the line
items and the new orders' status changes with the ids from RETURNING.

A line's key is looked up in a scalar subquery (one probe of the unique index per line),
never as a join the planner may choose to hash: during an import the statistics of
`order_items` are those from before it (autovacuum cannot see the import's uncommitted
rows), so a `NOT EXISTS` planned as a hash anti-join read the whole table for every batch,
and the import slowed down with the square of its size.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from shop.coltypes import utcnow
from shop.services.catalog import slugify
from shopfn.import_baskets import BasketWriter
from shopfn.import_postgresql import Lines, StatementWriter
from shopfn.import_products import CATEGORY, NO_PRICE, ProductCodes, _named
from shopfn.import_rows import not_in
from shopfn.transaction_log import Transaction

_PLACE_BASKETS = text(
    """
    WITH line AS (
        SELECT * FROM unnest(
            string_to_array(:keys, ','),
            string_to_array(:baskets, ','),
            string_to_array(:users, ',')::int[],
            string_to_array(:at, ',')::timestamptz[],
            string_to_array(:quantities, ',')::int[],
            string_to_array(:totals, ',')::numeric[],
            string_to_array(:prices, ',')::numeric[],
            string_to_array(:products, ',')::int[],
            ARRAY(SELECT json_array_elements_text(CAST(:names AS json)))
        ) AS line(key, basket, user_id, at, quantity, total, price, product_id, name)
    ), fresh AS (
        SELECT * FROM line
        WHERE (SELECT 1 FROM order_items WHERE order_items.import_key = line.key) IS NULL
    ), basket AS (
        SELECT basket, min(user_id) AS user_id, min(at) AS first_at, max(at) AS last_at,
               sum(quantity) AS quantity, sum(total) AS total
        FROM fresh GROUP BY basket
    ), placed AS (
        INSERT INTO orders AS o (user_id, status, subtotal, total, item_count, shipping_address,
                                 import_key, created_at, updated_at)
        SELECT user_id, 'delivered', total, total, quantity, CAST(:address AS jsonb),
               basket, first_at, last_at
        FROM basket
        ON CONFLICT (import_key) DO UPDATE SET
            subtotal = o.subtotal + excluded.subtotal,
            total = o.total + excluded.total,
            item_count = o.item_count + excluded.item_count,
            created_at = LEAST(o.created_at, excluded.created_at),
            updated_at = GREATEST(o.updated_at, excluded.updated_at)
        RETURNING o.id, o.user_id, o.import_key, (xmax = 0) AS created
    ), items AS (
        INSERT INTO order_items (order_id, product_id, name, unit_price, quantity, line_total,
                                 import_key)
        SELECT placed.id, fresh.product_id, fresh.name, fresh.price, fresh.quantity,
               fresh.total, fresh.key
        FROM fresh JOIN placed ON placed.import_key = fresh.basket
    ), changes AS (
        INSERT INTO order_status_changes (order_id, status, at)
        SELECT placed.id, 'delivered', basket.first_at
        FROM placed JOIN basket ON basket.basket = placed.import_key
        WHERE placed.created
    )
    SELECT (SELECT count(*) FROM fresh), (SELECT count(*) FROM fresh WHERE quantity < 0),
           count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created),
           array_agg(DISTINCT user_id)
    FROM placed
    """
)


_UNSEEN = text(
    """
    SELECT key FROM unnest(string_to_array(:keys, ',')) AS line(key)
    WHERE (SELECT 1 FROM order_items WHERE order_items.import_key = line.key) IS NULL
    """
)


_PRODUCT_IDS = text(
    """
    WITH code AS (
        SELECT * FROM unnest(
            ARRAY(SELECT json_array_elements_text(CAST(:codes AS json))),
            ARRAY(SELECT json_array_elements_text(CAST(:names AS json))),
            string_to_array(:prices, ',')::numeric[]
        ) AS code(sku, name, price)
    ), made AS (
        INSERT INTO products (sku, name, description, category, category_slug, price, stock,
                              is_active, created_at, updated_at)
        SELECT sku, name, '', :category, :slug, price, 0, false, :now, :now
        FROM code
        WHERE (SELECT 1 FROM products WHERE products.sku = code.sku) IS NULL
        RETURNING sku, id, name
    )
    SELECT sku, id, name, true FROM made
    UNION ALL
    SELECT code.sku, found.id, found.name, false
    FROM code CROSS JOIN LATERAL (
        SELECT id, name FROM products WHERE products.sku = code.sku LIMIT 1
    ) AS found
    """
)


class ProductCodeStatement(ProductCodes):
    """`ProductCodes` with one statement per batch for the codes not met before: it makes
    the missing products and answers every code's id. Each code is one probe of the SKU
    index (a scalar subquery, a LATERAL with LIMIT): the catalog's statistics are those from
    before the import, and a join or an `IN` list planned on them read all of `products`."""

    def ids(self, codes: Collection[str]) -> dict[str, tuple[int, str]]:
        known = self.known
        wanted = [code for code in codes if code not in known]
        if not wanted:
            return known
        latest = self.latest
        named = [_named(latest.get(code), code, NO_PRICE) for code in wanted]
        rows = self.session.execute(
            _PRODUCT_IDS,
            {
                "codes": json.dumps(wanted),
                "names": json.dumps([name for name, _price in named]),
                "prices": ",".join([str(price) for _name, price in named]),
                "category": CATEGORY,
                "slug": slugify(CATEGORY),
                "now": utcnow(),
            },
        )
        first: dict[str, tuple[str, Decimal]] = dict(zip(wanted, named, strict=True))
        for sku, product_id, name, made in rows:
            known[sku] = (product_id, name)
            if made:
                self.created[sku] = first[sku]
        return known


class BasketStatementWriter(StatementWriter, BasketWriter):
    """`BasketWriter` with one statement per batch (and PostgreSQL's customer creation).

    While batches hold lines imported before (a file imported again, the months an earlier
    export already had), the new lines of a batch are asked for first and only they are
    prepared and go into the statement: a batch of known lines costs one index look-up per
    line and nothing else. Once a batch is all new, batches are prepared on the reading
    thread again and go straight to the statement (which skips known lines anyway)."""

    #: Whether the last batch looked at held lines imported before.
    meeting_known_lines = True

    def with_products(self) -> BasketWriter:
        self.codes = ProductCodeStatement(self.session)
        return self

    def prepare(self, batch: list[Transaction]) -> Lines:  # type: ignore[override]
        fresh = not_in(set(), batch)
        if self.meeting_known_lines:  # prepared once the known lines are left out
            return Lines(fresh, len(batch) - len(fresh), {}, {}, {})
        return self._lines(fresh, len(batch) - len(fresh))

    def _lines(self, fresh: list[Transaction], repeated: int) -> Lines:
        """`fresh` (distinct lines) ready for the statement."""
        if self.codes is not None:
            self.codes.note(fresh)
        lines = StatementWriter.prepare(self, fresh)  # its parameters, customers
        params = {
            "keys": lines.params["keys"],
            "baskets": ",".join([t.basket for t in fresh]),  # type: ignore[misc]
            "at": lines.params["at"],
            "quantities": lines.params["quantities"],
            "totals": lines.params["totals"],
            "prices": lines.params["prices"],
            "address": self.address,
        }
        return Lines(fresh, repeated, params, lines.first, lines.emails)

    def write(self, lines: Lines) -> None:  # type: ignore[override]
        if not lines.params:
            keys = ",".join([t.key for t in lines.fresh])
            unseen = set(self.session.scalars(_UNSEEN, {"keys": keys}))
            self.meeting_known_lines = len(unseen) < len(lines.fresh)
            fresh = [t for t in lines.fresh if t.key in unseen]
            self.result.repeated += len(lines) - len(fresh)
            if not fresh:
                return
            lines = self._lines(fresh, 0)
        self.ensure_customers(lines.first, lines.emails)
        fresh = lines.fresh
        items = self.items_of(fresh)
        users = self.users
        params: dict[str, Any] = dict(
            lines.params,
            users=",".join([str(users[t.customer][0]) for t in fresh]),
            products=",".join([str(product) for product, _name in items]),
            names=json.dumps([name for _product, name in items]),
        )
        new_lines, returns, created, grown, user_ids = self.session.execute(
            _PLACE_BASKETS, params
        ).one()
        self.result.repeated += len(lines) - new_lines
        self.result.lines += new_lines
        self.result.returns += returns
        self.result.orders += created
        self.result.grown += grown
        self.count_customers(user_ids or ())
