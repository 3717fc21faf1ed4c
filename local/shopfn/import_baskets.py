"""Writing an imported log's lines as baskets: one order per invoice and customer, one line
item per source line, on the line's product (see `import_products`).

A line's key is stored on its line item (`OrderItem.import_key`) and its basket's key on the
order, so importing again adds nothing, and a later export adds its new lines to the orders
they belong to: the order's total and item count grow by the new lines' (always the sum of
its lines) and it is dated at its earliest line. `BasketWriter` is the portable writer;
PostgreSQL has one statement per batch in `import_baskets_postgresql`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Order, OrderItem, OrderStatusChange
from shopfn.import_products import ProductCodes
from shopfn.import_rows import CENT, ITEM_NAME, ImportResult, RowWriter, not_in
from shopfn.transaction_log import Transaction

_ORDER_COLUMNS: tuple[str, ...] = ("user_id", "status", "subtotal", "total", "item_count")
_ORDER_COLUMNS += ("shipping_address", "import_key", "created_at", "updated_at")
_ITEM_COLUMNS: tuple[str, ...] = ("order_id", "product_id", "name", "unit_price", "quantity")
_ITEM_COLUMNS += ("line_total", "import_key")
_REMEMBERED = 50_000
_GROW = (
    "UPDATE orders SET subtotal = subtotal + {m}, total = total + {m},"
    " item_count = item_count + {m},"
    " created_at = CASE WHEN created_at > {m} THEN {m} ELSE created_at END,"
    " updated_at = CASE WHEN updated_at < {m} THEN {m} ELSE updated_at END WHERE id = {m}"
)


@dataclass(slots=True)
class Basket:
    """What a batch's new lines add to one basket."""

    customer: str
    first: datetime
    last: datetime
    total: Decimal
    quantity: int


def baskets_of(lines: list[Transaction]) -> dict[str, Basket]:
    """The batch's new lines summed per basket key."""
    baskets: dict[str, Basket] = {}
    for t in lines:
        basket = baskets.get(t.basket)  # type: ignore[arg-type]
        if basket is None:
            basket = Basket(t.customer, t.at, t.at, t.amount, t.quantity)
            baskets[t.basket] = basket  # type: ignore[index]
            continue
        if t.at < basket.first:
            basket.first = t.at
        elif t.at > basket.last:
            basket.last = t.at
        basket.total += t.amount
        basket.quantity += t.quantity
    return baskets


@dataclass(slots=True)
class Prepared:
    """A batch as `BasketWriter.prepare` leaves it for `write`."""

    #: The batch's lines, each once; how many repeated an earlier line of the batch.
    lines: list[Transaction]
    repeated: int
    #: The baskets and each line's (unit price, line total) as the database takes them;
    #: None while batches meet lines imported before (worked out once they are left out).
    baskets: dict[str, Basket] | None
    money: list[tuple[Any, Any]] | None


def customers_of(baskets: Iterable[Basket]) -> dict[str, datetime]:
    """Each customer of `baskets` and their first transaction in them (see `first_seen`)."""
    first: dict[str, datetime] = {}
    for b in baskets:
        seen = first.get(b.customer)
        if seen is None or b.first < seen:
            first[b.customer] = b.first
    return first


class BasketWriter(RowWriter):
    """Orders of several lines for batches of lines (multi-row INSERTs, ids by key)."""

    #: Whether the last batch written held lines imported before (a file imported again).
    meeting_known_lines = False

    def __init__(self, session: Session, product_id: int | None, result: ImportResult) -> None:
        super().__init__(session, product_id or 0, result)
        self.codes: ProductCodes | None = None
        #: (amount, quantity) -> (unit price, line total) as the database takes them
        self.amounts: dict[tuple[Decimal, int], tuple[Any, Any]] = {}

    def with_products(self) -> BasketWriter:
        """Lines name their product by code (`--product-column`)."""
        self.codes = ProductCodes(self.session)
        return self

    def prepare(self, batch: list[Transaction]) -> Prepared:
        """The batch's work that needs no database, done on the reading thread while the
        writing one waits on the database: repeats within the batch left out, baskets summed,
        amounts converted, codes noted (a line imported before names a product that exists,
        so noting it changes no product's name or price)."""
        lines = not_in(set(), batch)
        if self.codes is not None:
            self.codes.note(lines)
        if self.meeting_known_lines:  # summed once the lines imported before are left out
            return Prepared(lines, len(batch) - len(lines), None, None)
        return Prepared(lines, len(batch) - len(lines), baskets_of(lines), self._money(lines))

    def _money(self, lines: list[Transaction]) -> list[tuple[Any, Any]]:
        amounts = self.amounts
        return [amounts.get((t.amount, t.quantity)) or self._amounts(t) for t in lines]

    def items_of(self, lines: list[Transaction]) -> list[tuple[int, str]]:
        """(product id, item name) of each line: its product (made when new) and its
        description, else the product's name; the stand-in product without codes."""
        if self.codes is None:
            product, names = self.product_id, ITEM_NAME
            return [(product, t.description or names[t.quantity < 0]) for t in lines]
        known = self.codes.ids({t.product for t in lines})  # type: ignore[misc]
        found = [known[t.product] for t in lines]  # type: ignore[index]
        return [(p[0], t.description or p[1]) for t, p in zip(lines, found, strict=True)]

    def write(self, prepared: Prepared) -> None:  # type: ignore[override]
        fresh, baskets, money = prepared.lines, prepared.baskets, prepared.money
        self.result.repeated += prepared.repeated
        order_ids = self._ids_by_key(Order, {t.basket for t in fresh})  # type: ignore[misc]
        known = self._item_keys(order_ids.values())
        self.meeting_known_lines = bool(known)
        if known or baskets is None or money is None:  # without the lines imported before
            fresh = [t for t in fresh if t.key not in known]
            self.result.repeated += len(prepared.lines) - len(fresh)
            baskets, money = baskets_of(fresh), self._money(fresh)
        if not fresh:
            return
        self.ensure_customers(customers_of(baskets.values()))
        items = self.items_of(fresh)
        self._place(baskets, order_ids)
        rows, returns = [], 0
        for t, (product, name), (unit, total) in zip(fresh, items, money, strict=True):
            rows.append((order_ids[t.basket], product, name, unit, t.quantity, total, t.key))  # type: ignore[index]
            returns += t.quantity < 0
        self._bulk(OrderItem, _ITEM_COLUMNS).insert(rows)
        self.result.lines += len(fresh)
        self.result.returns += returns
        users = self.users
        self.count_customers({users[b.customer][0] for b in baskets.values()})

    def _amounts(self, line: Transaction) -> tuple[Any, Any]:
        """The line's unit price and total as the database takes them, remembered per
        (amount, quantity): a till sells the same few things at the same prices."""
        amount, quantity = line.amount, line.quantity
        if len(self.amounts) >= _REMEMBERED:
            self.amounts.clear()
        money = self.to_money
        converted = money((amount / quantity).quantize(CENT)), money(amount)
        self.amounts[amount, quantity] = converted
        return converted

    def _place(self, baskets: dict[str, Basket], order_ids: dict[str, int]) -> None:
        """Orders for the baskets without one (their ids added to `order_ids`, which holds
        the others'), the others grown by their new lines."""
        new = {key: b for key, b in baskets.items() if key not in order_ids}
        time, money, users = self.to_time, self.to_money, self.users
        if new:
            created = self._bulk(Order, _ORDER_COLUMNS).insert(
                [
                    (
                        users[b.customer][0],
                        "delivered",
                        money(b.total),
                        money(b.total),
                        b.quantity,
                        self.address,
                        key,
                        time(b.first),
                        time(b.last),
                    )
                    for key, b in new.items()
                ],
                returning=("import_key", "id"),
            )
            if created is None:  # no INSERT ... RETURNING on this database
                created = self._ids_by_key(Order, list(new))
            self._bulk(OrderStatusChange, ("order_id", "status", "at")).insert(
                [(created[key], "delivered", time(b.first)) for key, b in new.items()]
            )
            order_ids.update(created)
        grown = [(key, b) for key, b in baskets.items() if key not in new]
        if grown:
            marker = "?" if self.session.get_bind().dialect.paramstyle == "qmark" else "%s"
            rows = []
            for key, b in grown:
                first, last, total = time(b.first), time(b.last), money(b.total)
                rows.append((total, total, b.quantity, first, first, last, last, order_ids[key]))
            self.session.connection().exec_driver_sql(_GROW.format(m=marker), rows)
        self.result.orders += len(new)
        self.result.grown += len(grown)

    def _item_keys(self, order_ids: Collection[int]) -> set[str]:
        """The keys of the lines imported before on these orders.

        A line imported before is on its basket's order (its key says its invoice and
        customer, which make the basket's key), so only the baskets that already have an
        order are asked about: a new export's batch asks for nothing at all, and an export
        imported again reads its orders' lines by the order's index, not one key look-up
        per line."""
        if not order_ids:
            return set()
        column = OrderItem.__table__.c  # type: ignore[attr-defined]
        query = select(column.import_key).where(self._one_of(column.order_id, order_ids))
        return set(self.session.connection().execute(query).scalars().all())

    def _ids_by_key(self, model: Any, keys: Collection[str]) -> dict[str, int]:
        """Row ids by import key of `model`'s rows holding one of `keys`."""
        columns = model.__table__.c
        query = select(columns.import_key, columns.id).where(self._one_of(columns.import_key, keys))
        return dict(self.session.connection().execute(query).all())  # type: ignore[arg-type]

    def finish(self) -> None:
        super().finish()
        if self.codes is not None:
            self.result.products = self.codes.finish()
