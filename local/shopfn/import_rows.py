"""Writing an imported log's lines as customers and delivered orders, on any database.

Each line becomes one order of its customer with one line item (the catalog's first product
standing in for what was bought) and one status change. Customers are found by their stable
import e-mail or created; a customer's account starts at their first transaction. Orders
keep their line's key (`Order.import_key`, unique), so a line imported before is skipped.

`RowWriter` is the portable writer (multi-row INSERTs, ids looked up by key); PostgreSQL has
a faster one in `import_postgresql`. A writer's `prepare` runs on the reading thread and its
`write` on the writing one, so work that needs no database overlaps the database's work.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from hashlib import blake2b
from typing import Any

from sqlalchemy import any_, bindparam, func, literal_column, select, update
from sqlalchemy.orm import Session

from shop.models import Order, OrderItem, OrderStatusChange, User
from shop.passwords import hash_password
from shopfn.bulk_rows import BulkInsert, converter
from shopfn.transaction_log import Transaction

EMAIL_DOMAIN = "import.shopfn.local"
#: The tables an import writes.
IMPORTED_TABLES = ("users", "orders", "order_items", "order_status_changes", "products")
ADDRESS = {"source": "import"}
CENT = Decimal("0.01")
_ORDER_COLUMNS: tuple[str, ...] = ("user_id", "status", "subtotal", "total", "item_count")
_ORDER_COLUMNS += ("shipping_address", "import_key", "created_at", "updated_at")
_ITEM_COLUMNS = ("order_id", "product_id", "name", "unit_price", "quantity", "line_total")
_USER_COLUMNS: tuple[str, ...] = ("email", "full_name", "password_hash", "role", "is_active")
_USER_COLUMNS += ("created_at", "updated_at")
ITEM_NAME = {False: "Imported purchase", True: "Imported return"}


@dataclass
class ImportResult:
    orders: int = 0
    returns: int = 0
    #: Accounts that got at least one order in this import, and how many of them it created.
    customers: int = 0
    new_customers: int = 0
    #: Lines skipped because the same line was imported before or appears earlier in the file.
    repeated: int = 0
    rejected: int = 0
    #: Basket imports: lines added, earlier orders that got new lines, products made.
    lines: int = 0
    grown: int = 0
    products: int = 0
    errors: list[str] = field(default_factory=list)


class RowWriter:
    """Customers and orders for batches of lines, remembering customers between batches."""

    def __init__(self, session: Session, product_id: int, result: ImportResult) -> None:
        self.session = session
        self.product_id = product_id
        self.result = result
        self.password_hash = hash_password(secrets.token_urlsafe(24))
        #: customer id -> (user id, created_at as stored)
        self.users: dict[str, tuple[int, datetime]] = {}
        #: user id -> earliest transaction seen, when before the stored created_at
        self.earlier: dict[int, datetime] = {}
        #: user ids of the accounts that got an order in this import
        self.ordered: set[int] = set()
        self.bulk: dict[str, BulkInsert] = {}
        # Values as the database takes them, converted once per distinct value.
        dialect = session.get_bind().dialect
        orders = Order.__table__.c
        self.to_time = converter(orders.created_at, dialect)
        self.to_money = converter(orders.total, dialect)
        self.address = converter(orders.shipping_address, dialect)(ADDRESS)
        self.active = converter(User.__table__.c.is_active, dialect)(True)

    def prepare(self, batch: list[Transaction]) -> Any:
        """What `write` takes for `batch` (the batch itself here)."""
        return batch

    def write(self, batch: list[Transaction]) -> None:
        self.rekey(batch)
        fresh = self._unseen(batch)
        self.result.repeated += len(batch) - len(fresh)
        if not fresh:
            return
        self.ensure_customers(first_seen(fresh))
        time, money = self.to_time, self.to_money
        rows = [(t, time(t.at), money(t.amount)) for t in fresh]  # converted once per line
        address = self.address
        self._bulk(Order, _ORDER_COLUMNS).insert(
            [
                (
                    self.users[t.customer][0],
                    "delivered",
                    total,
                    total,
                    t.quantity,
                    address,
                    t.key,
                    at,
                    at,
                )
                for t, at, total in rows
            ]
        )
        # Ids by key, not RETURNING: SQLite would insert row by row to keep RETURNING's order.
        keys = [t.key for t in fresh]
        id_of = dict(
            self.session.execute(
                select(Order.import_key, Order.id).where(self._one_of(Order.import_key, keys))
            ).all()
        )
        product = self.product_id
        self._bulk(OrderItem, _ITEM_COLUMNS).insert(
            [
                (
                    id_of[t.key],
                    product,
                    ITEM_NAME[t.quantity < 0],
                    money((t.amount / t.quantity).quantize(CENT)),
                    t.quantity,
                    total,
                )
                for t, _at, total in rows
            ]
        )
        self._bulk(OrderStatusChange, ("order_id", "status", "at")).insert(
            [(id_of[t.key], "delivered", at) for t, at, _total in rows]
        )
        self.result.orders += len(fresh)
        self.result.returns += sum(1 for t in fresh if t.quantity < 0)
        self.count_customers({self.users[t.customer][0] for t in fresh})

    def rekey(self, lines: list[Transaction]) -> None:
        """Orders imported before amounts were keyed to the cent (when `100` and `100.00`
        made two keys) take their line's key as it is now when an import meets the line
        again, so the line stays seen whichever way a later export writes the amount."""
        moves = {t.legacy_key: t.key for t in lines if t.legacy_key is not None}
        if not moves:
            return
        keys = [*moves, *moves.values()]
        stored = set(
            self.session.scalars(
                select(Order.import_key).where(self._one_of(Order.import_key, keys))
            )
        )
        rows = [
            {"old_key": old, "new_key": new}
            for old, new in moves.items()
            if old in stored and new not in stored
        ]
        if rows:
            orders: Any = Order.__table__
            self.session.execute(
                orders.update()
                .where(orders.c.import_key == bindparam("old_key"))
                .values(import_key=bindparam("new_key")),
                rows,
            )

    def _one_of(self, column: Any, values: Collection[Any]) -> Any:
        """`column IN values` with the values as one parameter where the database can (not
        thousands for SQLAlchemy to compile, and the driver to encode, every batch): on
        PostgreSQL `= ANY(string_to_array(...))` (keys are hex, import e-mails letters, digits
        and dashes: never a comma), on SQLite `IN (SELECT value FROM json_each(...))`."""
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            return column == any_(func.string_to_array(",".join(values), ","))
        if dialect == "sqlite":
            listed = func.json_each(json.dumps(list(values)))
            return column.in_(select(literal_column("value")).select_from(listed))
        return column.in_(values)

    def _bulk(self, model: Any, columns: tuple[str, ...]) -> BulkInsert:
        """The bulk inserter of `columns` of `model`'s table (made once per import)."""
        name = model.__tablename__
        if name not in self.bulk:
            self.bulk[name] = BulkInsert(self.session.connection(), model.__table__, columns)
        return self.bulk[name]

    def _unseen(self, batch: list[Transaction]) -> list[Transaction]:
        """The batch without lines imported before (any import) or repeated within it."""
        keys = {t.key for t in batch}
        known = set(
            self.session.scalars(
                select(Order.import_key).where(self._one_of(Order.import_key, keys))
            )
        )
        return not_in(known, batch)

    def ensure_customers(
        self, first: dict[str, datetime], emails_of: dict[str, str] | None = None
    ) -> None:
        """Every customer in `first` (customer -> first transaction in the batch, see
        `first_seen`) in `users`: found by their import e-mail, or created."""
        for customer, at in first.items():
            known = self.users.get(customer)
            if known is not None:
                self._starts_by(known, at)
        if emails_of is None:
            emails = {c: email_of(c) for c in first if c not in self.users}
        else:
            emails = {c: emails_of[c] for c in first if c not in self.users}
        if not emails:
            return
        found = self.find_or_create(emails, first)
        for customer, email in emails.items():
            self.users[customer] = found[email]
            self._starts_by(found[email], first[customer])

    def _starts_by(self, user: tuple[int, datetime], at: datetime) -> None:
        """Remember that the account (id, stored created_at) has a transaction at `at`.

        Kept per account, not per customer id: ids that differ only in case share one."""
        user_id, stored = user
        if at < min(stored, self.earlier.get(user_id, stored)):
            self.earlier[user_id] = at

    def count_customers(self, user_ids: Iterable[int]) -> None:
        """Count the accounts that got an order in this import (each once)."""
        before = len(self.ordered)
        self.ordered.update(user_ids)
        self.result.customers += len(self.ordered) - before

    def find_or_create(
        self, emails: dict[str, str], first: dict[str, datetime]
    ) -> dict[str, tuple[int, datetime]]:
        """(id, created_at) by e-mail of these customers' accounts, creating the missing ones
        (starting at the customer's first transaction in `first`)."""
        found = self._users(set(emails.values()))
        new: dict[str, str] = {}
        for customer, email in emails.items():
            if email not in found:
                new.setdefault(email, customer)
        if new:
            self._bulk(User, _USER_COLUMNS).insert(
                [
                    (
                        email,
                        f"Customer {customer}",
                        self.password_hash,
                        "customer",
                        self.active,
                        self.to_time(first[customer]),
                        self.to_time(first[customer]),
                    )
                    for email, customer in new.items()
                ]
            )
            found.update(self._users(set(new)))
            self.result.new_customers += len(new)
        return found

    def _users(self, emails: Collection[str]) -> dict[str, tuple[int, datetime]]:
        """(id, created_at) of the users with these e-mails."""
        query = select(User.email, User.id, User.created_at).where(self._one_of(User.email, emails))
        return {email: (user_id, at) for email, user_id, at in self.session.execute(query)}

    def finish(self) -> None:
        """A customer's account starts at their first transaction, even if it came later."""
        if self.earlier:
            self.session.execute(
                update(User),
                [{"id": user_id, "created_at": at} for user_id, at in self.earlier.items()],
            )


def not_in(known: set[Any], batch: list[Transaction]) -> list[Transaction]:
    """The lines of `batch` whose key is not `known`, each key once (`known` grows)."""
    fresh = []
    for t in batch:
        if t.key not in known:
            known.add(t.key)
            fresh.append(t)
    return fresh


def first_seen(batch: list[Transaction]) -> dict[str, datetime]:
    """Each customer of `batch` and their first transaction in it."""
    first: dict[str, datetime] = {}
    for t in batch:
        if t.customer not in first or t.at < first[t.customer]:
            first[t.customer] = t.at
    return first


def email_of(customer: str) -> str:
    """The customer's stable import address; ids with other characters get a digest too."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in customer).strip("-")[:60].lower()
    if slug != customer.lower() or not slug:
        slug = f"{slug}-{blake2b(customer.encode(), digest_size=4).hexdigest()}".lstrip("-")
    return f"customer-{slug}@{EMAIL_DOMAIN}"
