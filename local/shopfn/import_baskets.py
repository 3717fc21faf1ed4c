"""Writing an imported log's lines as baskets: one order per invoice and customer, one line
item per source line, on the line's product (see `import_products`).

A line's key is stored on its line item (`OrderItem.import_key`) and its basket's key on the
order, so importing again adds nothing, and a later export adds its new lines to the orders
they belong to: the order's total and item count grow by the new lines' (always the sum of
its lines) and it is dated at its earliest line. `BasketWriter` is the portable writer;
PostgreSQL has one statement per batch in `import_baskets_postgresql`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Order, OrderItem, OrderStatusChange
from shopfn.import_products import ProductCodes
from shopfn.import_rows import CENT, ITEM_NAME, ImportResult, RowWriter, first_seen, not_in
from shopfn.transaction_log import Transaction

_ORDER_COLUMNS: tuple[str, ...] = ("user_id", "status", "subtotal", "total", "item_count")
_ORDER_COLUMNS += ("shipping_address", "import_key", "created_at", "updated_at")
_ITEM_COLUMNS: tuple[str, ...] = ("order_id", "product_id", "name", "unit_price", "quantity")
_ITEM_COLUMNS += ("line_total", "import_key")
_GROW = (
    "UPDATE orders SET subtotal = subtotal + {m}, total = total + {m},"
    " item_count = item_count + {m},"
    " created_at = CASE WHEN created_at > {m} THEN {m} ELSE created_at END,"
    " updated_at = CASE WHEN updated_at < {m} THEN {m} ELSE updated_at END WHERE id = {m}"
)


@dataclass(slots=True)
class Basket:
    """What a batch's new lines add to one basket."""

    user_id: int
    first: datetime
    last: datetime
    total: Decimal
    quantity: int


def baskets_of(
    lines: list[Transaction], users: dict[str, tuple[int, datetime]]
) -> dict[str, Basket]:
    """The batch's new lines summed per basket key."""
    baskets: dict[str, Basket] = {}
    for t in lines:
        assert t.basket is not None
        basket = baskets.get(t.basket)
        if basket is None:
            baskets[t.basket] = Basket(users[t.customer][0], t.at, t.at, t.amount, t.quantity)
            continue
        basket.first = min(basket.first, t.at)
        basket.last = max(basket.last, t.at)
        basket.total += t.amount
        basket.quantity += t.quantity
    return baskets


class BasketWriter(RowWriter):
    """Orders of several lines for batches of lines (multi-row INSERTs, ids by key)."""

    def __init__(self, session: Session, product_id: int | None, result: ImportResult) -> None:
        super().__init__(session, product_id or 0, result)
        self.codes: ProductCodes | None = None

    def with_products(self) -> BasketWriter:
        """Lines name their product by code (`--product-column`)."""
        self.codes = ProductCodes(self.session)
        return self

    def prepare(self, batch: list[Transaction]) -> Any:
        return batch

    def items_of(self, lines: list[Transaction]) -> list[tuple[int, str]]:
        """(product id, item name) of each line: its product (made when new) and its
        description, else the product's name; the stand-in product without codes."""
        if self.codes is None:
            product, names = self.product_id, ITEM_NAME
            return [(product, t.description or names[t.quantity < 0]) for t in lines]
        known = self.codes.ids({t.product for t in lines})  # type: ignore[misc]
        if self.codes.fold:
            key = self.codes.key
            found = [known[key(t.product)] for t in lines]  # type: ignore[arg-type]
        else:
            found = [known[t.product] for t in lines]  # type: ignore[index]
        return [(p[0], t.description or p[1]) for t, p in zip(lines, found, strict=True)]

    def write(self, batch: list[Transaction]) -> None:
        fresh = self._new_lines(batch)
        self.result.repeated += len(batch) - len(fresh)
        if not fresh:
            return
        if self.codes is not None:
            self.codes.note(fresh)
        self.ensure_customers(first_seen(fresh))
        items = self.items_of(fresh)
        baskets = baskets_of(fresh, self.users)
        order_ids = self._place(baskets)
        money = self.to_money
        self._bulk(OrderItem, _ITEM_COLUMNS).insert(
            [
                (
                    order_ids[t.basket],  # type: ignore[index]
                    product,
                    name,
                    money((t.amount / t.quantity).quantize(CENT)),
                    t.quantity,
                    money(t.amount),
                    t.key,
                )
                for t, (product, name) in zip(fresh, items, strict=True)
            ]
        )
        self.result.lines += len(fresh)
        self.result.returns += sum(1 for t in fresh if t.quantity < 0)
        self.count_customers({b.user_id for b in baskets.values()})

    def _place(self, baskets: dict[str, Basket]) -> dict[str, int]:
        """Order ids by basket key: new orders for new baskets, the others grown."""
        order_ids = self._ids_by_key(Order, list(baskets))
        new = {key: b for key, b in baskets.items() if key not in order_ids}
        time, money = self.to_time, self.to_money
        if new:
            self._bulk(Order, _ORDER_COLUMNS).insert(
                [
                    (
                        b.user_id,
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
                ]
            )
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
        return order_ids

    def _new_lines(self, batch: list[Transaction]) -> list[Transaction]:
        """The batch without lines imported before (any import) or repeated within it."""
        keys = list({t.key for t in batch})
        known = self.session.scalars(
            select(OrderItem.import_key).where(self._one_of(OrderItem.import_key, keys))
        )
        return not_in(set(known), batch)

    def _ids_by_key(self, model: Any, keys: Collection[str]) -> dict[str, int]:
        """Row ids by import key of `model`'s rows holding one of `keys`."""
        query = select(model.import_key, model.id).where(self._one_of(model.import_key, keys))
        return dict(self.session.execute(query).all())  # type: ignore[arg-type]

    def finish(self) -> None:
        super().finish()
        if self.codes is not None:
            self.result.products = self.codes.finish()
