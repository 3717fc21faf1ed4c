"""`shopfn import transactions`: a real shop's transaction log as customers and delivered orders.

Each line is one delivered order of the customer (one line item, the catalog's first product
standing in for what was bought). Zero amounts are purchases with no spend. A return (a
negative quantity or amount) is an order with a negative total and a negative quantity, so
every sum of a customer's orders (spend, revenue, units) goes down by what came back.

The file is streamed and written in batches inside one database transaction. With
`on_error="abort"` any bad line rolls everything back; with "skip" good lines are kept and
every bad one goes to a report with its reason. Each order keeps its line's key
(`Order.import_key`, unique), so a line seen before, in this file or an earlier import, is
skipped: importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import json
import queue
import secrets
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from hashlib import blake2b
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import any_, func, literal_column, select, update
from sqlalchemy.orm import Session

from shop.models import Order, OrderItem, OrderStatusChange, Product, User
from shop.passwords import hash_password
from shopfn.bulk_rows import BulkInsert, converter
from shopfn.progress import progress_bar
from shopfn.transaction_log import LogFormat, LogUnreadable, Rejected, Transaction, TransactionLog

OnError = Literal["abort", "skip"]
EMAIL_DOMAIN = "import.shopfn.local"
#: Lines written per round of INSERTs: large enough to amortize round trips, small in memory.
BATCH = 2000
#: Bad lines an aborted import lists (all are counted).
LISTED_ERRORS = 1000
_ADDRESS = {"source": "import"}
_CENT = Decimal("0.01")
_ORDER_COLUMNS: tuple[str, ...] = ("user_id", "status", "subtotal", "total", "item_count")
_ORDER_COLUMNS += ("shipping_address", "import_key", "created_at", "updated_at")
_ITEM_COLUMNS = ("order_id", "product_id", "name", "unit_price", "quantity", "line_total")
_USER_COLUMNS: tuple[str, ...] = ("email", "full_name", "password_hash", "role", "is_active")
_USER_COLUMNS += ("created_at", "updated_at")
_ITEM_NAME = {False: "Imported purchase", True: "Imported return"}


class ImportFailed(Exception):
    """Nothing was imported; `errors` lists why (`line N: problem`), `bad_lines` counts them."""

    def __init__(self, errors: list[str], bad_lines: int = 0) -> None:
        self.bad_lines = bad_lines
        detail = f"{bad_lines} bad line(s)" if bad_lines else errors[0]
        super().__init__(detail)
        self.errors = errors


@dataclass
class ImportResult:
    orders: int = 0
    returns: int = 0
    customers: int = 0
    new_customers: int = 0
    #: Lines skipped because the same line was imported before or appears earlier in the file.
    repeated: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def import_transactions(
    session: Session,
    path: Path,
    log_format: LogFormat,
    *,
    on_error: OnError = "abort",
    report: Path | None = None,
) -> ImportResult:
    """Import the log at `path` and commit; ImportFailed (nothing written) otherwise.

    With "skip", rejected lines are written to `report` (CSV: line, reason, the line's fields).
    """
    product_id = session.scalar(select(Product.id).order_by(Product.id).limit(1))
    if product_id is None:
        raise ImportFailed(["the catalog is empty: run `shopfn seed` first"])
    with _large_sqlite_cache(session):
        return _import(session, path, log_format, product_id, on_error, report)


def _import(
    session: Session,
    path: Path,
    log_format: LogFormat,
    product_id: int,
    on_error: OnError,
    report: Path | None,
) -> ImportResult:
    result = ImportResult()
    writer = _OrderWriter(session, product_id, result)
    try:
        with TransactionLog(path, log_format) as log, _rejects(log, report) as reject:
            _stream(log, writer, reject, result, on_error)
        if result.errors and on_error == "abort":
            raise ImportFailed(result.errors, result.rejected)
        if result.orders + result.repeated + result.rejected == 0:
            raise ImportFailed(["the file has no transactions"])
    except (ImportFailed, LogUnreadable) as exc:
        session.rollback()
        if report is not None:
            report.unlink(missing_ok=True)  # a report of an import that did not happen
        if isinstance(exc, LogUnreadable):
            raise ImportFailed([str(exc)]) from None
        raise
    writer.finish()
    session.commit()
    return result


def _stream(
    log: TransactionLog, writer: _OrderWriter, reject: Any, result: ImportResult, on_error: OnError
) -> None:
    """Read every line; write good ones in batches (none once an abort is certain)."""
    batch: list[Transaction] = []
    threaded = writer.session.get_bind().dialect.name == "postgresql"
    with progress_bar(log.size, "importing", unit="B") as bar, _writing(writer, threaded) as write:
        done = 0
        for item in log.lines():
            if isinstance(item, Rejected):
                result.rejected += 1
                if len(result.errors) < LISTED_ERRORS:
                    result.errors.append(f"line {item.line}: {item.reason}")
                reject(item)
                continue
            if on_error == "abort" and result.rejected:
                continue  # keep reading to list every bad line; nothing will be kept
            batch.append(item)
            if len(batch) >= BATCH:
                write(batch)
                batch = []
                bar.update(log.position() - done)
                done = log.position()
        if batch and not (on_error == "abort" and result.rejected):
            write(batch)
        bar.update(log.position() - done)


@contextmanager
def _writing(writer: _OrderWriter, threaded: bool) -> Iterator[Callable[[list[Transaction]], None]]:
    """`writer.write`, on a thread of its own when `threaded`: on PostgreSQL the server
    works on one batch while this process reads the next (half the time otherwise). At most
    two batches wait; leaving waits for the thread and raises what failed on it."""
    if not threaded:
        yield writer.write
        return
    batches: queue.Queue[list[Transaction] | None] = queue.Queue(maxsize=2)
    failures: list[BaseException] = []

    def run() -> None:
        while (batch := batches.get()) is not None:
            if not failures:  # after a failure, only drain the queue
                try:
                    writer.write(batch)
                except BaseException as exc:  # re-raised on the reading thread
                    failures.append(exc)

    def write(batch: list[Transaction]) -> None:
        if failures:
            raise failures[0]
        batches.put(batch)

    thread = threading.Thread(target=run, name="import-writer", daemon=True)
    thread.start()
    try:
        yield write
    finally:
        batches.put(None)
        thread.join()
    if failures:
        raise failures[0]


@contextmanager
def _large_sqlite_cache(session: Session) -> Iterator[None]:
    """On SQLite, a page cache of 256 MB (not 2 MB) while importing: the import keys are
    random, so every batch touches index pages all over the file."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = session.connection().connection.driver_connection
    assert connection is not None
    default = connection.execute("PRAGMA cache_size").fetchone()[0]
    connection.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA cache_size = {int(default)}")


@contextmanager
def _rejects(log: TransactionLog, report: Path | None) -> Iterator[Any]:
    """A function taking each rejected line: written to `report` when given."""
    if report is None:
        yield lambda _line: None
        return
    handle: IO[str]
    with report.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["line", "reason", *log.header])
        yield lambda line: out.writerow([line.line, line.reason, *line.fields])


class _OrderWriter:
    """Customers and orders for batches of lines, remembering customers between batches."""

    def __init__(self, session: Session, product_id: int, result: ImportResult) -> None:
        self.session = session
        self.product_id = product_id
        self.result = result
        self.password_hash = hash_password(secrets.token_urlsafe(24))
        #: customer id -> (user id, created_at as stored)
        self.users: dict[str, tuple[int, datetime]] = {}
        #: customer id -> earliest transaction seen, when before the stored created_at
        self.earlier: dict[str, datetime] = {}
        self.bulk: dict[str, BulkInsert] = {}
        # Values as the database takes them, converted once per distinct value.
        dialect = session.get_bind().dialect
        orders = Order.__table__.c
        self.to_time = converter(orders.created_at, dialect)
        self.to_money = converter(orders.total, dialect)
        self.address = converter(orders.shipping_address, dialect)(_ADDRESS)
        self.active = converter(User.__table__.c.is_active, dialect)(True)

    def write(self, batch: list[Transaction]) -> None:
        fresh = self._unseen(batch)
        self.result.repeated += len(batch) - len(fresh)
        if not fresh:
            return
        self._ensure_customers(fresh)
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
                    _ITEM_NAME[t.quantity < 0],
                    money((t.amount / t.quantity).quantize(_CENT)),
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

    def _one_of(self, column: Any, values: Collection[str]) -> Any:
        """`column IN values` with the values as one parameter where the database can (not
        thousands for SQLAlchemy to compile, and pg8000 to encode, every batch): on PostgreSQL
        `= ANY(string_to_array(...))` (keys are hex, import e-mails letters, digits and dashes:
        never a comma), on SQLite `IN (SELECT value FROM json_each(...))`."""
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
        fresh = []
        for t in batch:
            if t.key not in known:
                known.add(t.key)
                fresh.append(t)
        return fresh

    def _ensure_customers(self, batch: list[Transaction]) -> None:
        """Every customer of `batch` in `users`: found by their import e-mail, or created."""
        first: dict[str, datetime] = {}
        for t in batch:
            if t.customer not in first or t.at < first[t.customer]:
                first[t.customer] = t.at
        for customer, at in first.items():
            known = self.users.get(customer)
            if known is not None and at < min(known[1], self.earlier.get(customer, known[1])):
                self.earlier[customer] = at
        emails = {c: _email(c) for c in first if c not in self.users}
        if not emails:
            return
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
        for customer, email in emails.items():
            self.users[customer] = found[email]
            if first[customer] < found[email][1]:
                self.earlier[customer] = first[customer]
        self.result.customers += len(emails)

    def _users(self, emails: set[str]) -> dict[str, tuple[int, datetime]]:
        """(id, created_at) of the users with these e-mails."""
        query = select(User.email, User.id, User.created_at).where(self._one_of(User.email, emails))
        return {email: (user_id, at) for email, user_id, at in self.session.execute(query)}

    def finish(self) -> None:
        """A customer's account starts at their first transaction, even if it came later."""
        if self.earlier:
            self.session.execute(
                update(User),
                [{"id": self.users[c][0], "created_at": at} for c, at in self.earlier.items()],
            )


def _email(customer: str) -> str:
    """The customer's stable import address; ids with other characters get a digest too."""
    slug = "".join(ch if ch.isalnum() else "-" for ch in customer).strip("-")[:60].lower()
    if slug != customer.lower() or not slug:
        slug = f"{slug}-{blake2b(customer.encode(), digest_size=4).hexdigest()}".lstrip("-")
    return f"customer-{slug}@{EMAIL_DOMAIN}"
