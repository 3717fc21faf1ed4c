"""Reading a shop's transaction log as it comes: comma, tab, semicolon or space separated,
plain or gzip, with the shop's own column names and date format.

Each data line becomes a `Transaction` or a `Rejected` (with its reason), streamed: a log of
millions of lines never sits in memory. A line's `key` is a digest of what it says (its
normalized values and every other column), so the same line read twice, from one file or
two, has the same key. Amounts count by value, to the cent: `100` and `100.00` are the
same line (keys made before that rule are still found: see `Transaction.legacy_key`).

With an invoice column, a line also names its basket (`basket`: a digest of its invoice and
customer), and with a product column the shop's product code (and its description).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from hashlib import blake2b
from pathlib import Path
from typing import IO, Any, Self, TypeVar

#: `--delimiter` names; "auto" picks one from the header line.
DELIMITERS: dict[str, str] = {"comma": ",", "tab": "\t", "semicolon": ";", "whitespace": " "}
#: `--date-format` value for ISO 8601 dates ("2026-03-01", "2026-03-01 08:26:00", with offset).
ISO = "iso"
_CENT = Decimal("0.01")
_TOO_LARGE = Decimal("10000000000")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_MOST_UNITS = 1_000_000  # a line's units; every database's integer column holds far more
_GZIP_MAGIC = b"\x1f\x8b"
_REMEMBERED = 100_000
_UNSEEN: Any = object()
_T = TypeVar("_T")
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
#: The longest product code (a product's SKU).
MOST_CODE_CHARACTERS = 64
_NAME_CHARACTERS = 200


class LogUnreadable(Exception):
    """The file as a whole cannot be read (not text, broken gzip, no header, missing column)."""


@dataclass(frozen=True)
class LogFormat:
    """Where each value is in the log and how it is written."""

    customer: str = "customer_id"
    date: str = "date"
    quantity: str = "quantity"
    #: Column of the line's total; unused when `price` (a unit price column) is given.
    amount: str = "amount"
    price: str | None = None
    date_format: str = ISO
    delimiter: str = "auto"
    #: Basket import: lines with the same invoice and customer are one order.
    invoice: str | None = None
    #: The shop's product code of the line (a product's SKU) and its description.
    product: str | None = None
    description: str | None = None

    @property
    def baskets(self) -> bool:
        """Whether lines become items of orders (any of the basket columns is named)."""
        return self.invoice is not None or self.product is not None


@dataclass(slots=True)
class Transaction:
    """One valid line: a purchase, or a return when the amount is negative. (Not frozen:
    a frozen dataclass's `__init__` sets each field through `object.__setattr__`, four times
    the cost of a plain one, and an import makes one per line; nothing changes it.)"""

    line: int
    customer: str
    at: datetime
    quantity: int
    amount: Decimal
    key: str
    #: The key this line had before amounts were keyed to the cent (only when it differs).
    legacy_key: str | None = None
    #: The basket's key (with an invoice column), the product code and its description.
    basket: str | None = None
    product: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """One line that cannot be imported, with the reason and its fields as read."""

    line: int
    reason: str
    fields: list[str]


def check_date_format(date_format: str) -> str | None:
    """Why `date_format` cannot read dates (None when it can): a clear message for the CLI."""
    if date_format == ISO:
        return None
    sample = datetime(2001, 2, 3, 4, 5, 6)
    try:
        parsed = datetime.strptime(sample.strftime(date_format), date_format)
    except ValueError as exc:
        return f"--date-format {date_format!r} is not a date format ({exc})"
    if parsed.date() != sample.date():
        return f"--date-format {date_format!r} must contain the year, month and day (%Y, %m, %d)"
    return None


class DelimitedFile:
    """An open delimited text file (plain or gzip): its `header` and `delimiter`, then its
    records from `_text`; `position()` is how far into the file it is."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw: IO[bytes] = path.open("rb")
        try:
            binary: IO[bytes] = self._raw
            if self._raw.read(2) == _GZIP_MAGIC:
                self._raw.seek(0)
                binary = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
            else:
                self._raw.seek(0)
            # Other columns (descriptions) may be in any encoding; the mapped ones are ASCII.
            self._text = io.TextIOWrapper(
                binary, encoding="utf-8-sig", errors="replace", newline=""
            )
            header_line = reading(1, self._text.readline)
            self.delimiter = _delimiter(header_line, delimiter)
            header: list[str] = next(self._reader([header_line]), [])
        except BaseException:
            self._raw.close()
            raise
        self.header = [name.strip() for name in header]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._raw.close()

    def position(self) -> int:
        """Bytes of the file read so far (of the compressed file for gzip)."""
        return self._raw.tell()

    def _reader(self, lines: Iterator[str] | list[str]) -> Any:
        """A csv reader (its `line_num` counts the lines it took) for the log's separator."""
        if self.delimiter == " ":  # runs of spaces and tabs are one separator
            cleaned = (line.replace("\t", " ").strip() for line in lines)
            return csv.reader(cleaned, delimiter=" ", skipinitialspace=True)
        return csv.reader(lines, delimiter=self.delimiter)


class TransactionLog(DelimitedFile):
    """An open log: `header`, then `lines()`."""

    def __init__(self, path: Path, log_format: LogFormat) -> None:
        self.format = log_format
        super().__init__(path, log_format.delimiter)
        try:
            self._columns = self._mapped_columns()
        except BaseException:
            self._raw.close()
            raise

    def _mapped_columns(self) -> tuple[int, int, int, int]:
        f = self.format
        wanted: tuple[str, ...] = (f.customer, f.date, f.quantity, f.price or f.amount)
        wanted += tuple(c for c in (f.invoice, f.product, f.description) if c is not None)
        if not any(self.header):
            raise LogUnreadable("line 1: the file is empty or has no header line")
        missing = [name for name in wanted if name not in self.header]
        if missing:
            found = ", ".join(self.header[:12])
            raise LogUnreadable(
                f"line 1: missing column(s) {', '.join(missing)} (the file has: {found})"
            )
        customer, date, quantity, value = (self.header.index(name) for name in wanted[:4])
        return customer, date, quantity, value

    def _basket_columns(self) -> tuple[int | None, int | None, int | None]:
        """Where the invoice, product code and description are (None when not named)."""
        f = self.format
        return tuple(  # type: ignore[return-value]
            None if name is None else self.header.index(name)
            for name in (f.invoice, f.product, f.description)
        )

    def lines(self) -> Iterator[Transaction | Rejected]:
        """Every data line in order (blank lines skipped); LogUnreadable if reading breaks.

        Logs repeat their values (a customer's id, a time, a price), so each value is checked
        and converted once and remembered (`_Values`): a line mostly costs its key's digest."""
        customer_at, date_at, quantity_at, value_at = self._columns
        baskets = _BasketFields(*self._basket_columns()) if self.format.baskets else None
        others = [i for i in range(len(self.header)) if i not in self._columns]
        width = len(self.header)
        values = _Values(self.format)
        customers, dates, quantities, amounts = values.customers, values.dates, *values.numbers
        by_price = self.format.price is not None
        reader = self._reader(self._text)
        line = 1
        try:
            for fields in reader:
                line = reader.line_num + 1
                if len(fields) != width or (width == 1 and fields == [""]):
                    if fields and fields != [""]:
                        reason = f"has {len(fields)} fields, the header has {width}"
                        yield Rejected(line, reason, fields)
                    continue
                try:
                    raw = fields[customer_at]
                    customer = customers.get(raw) or values.customer(raw)
                    raw = fields[date_at]
                    at, hex_seconds, iso = dates.get(raw) or values.date(raw)
                    raw = fields[quantity_at]
                    quantity = quantities.get(raw) or values.quantity(raw)
                    raw = fields[value_at]
                    written = (raw, quantity) if by_price else (raw, quantity < 0)
                    amount, text, cents = amounts.get(written) or values.amount(written)
                    if baskets is not None:
                        basket, product, description = baskets.read(fields, customer)
                except _BadLine as problem:
                    yield Rejected(line, str(problem), fields)
                    continue
                if amount < 0 < quantity:  # a return, whichever sign the log wrote
                    quantity = -quantity
                said = [customer, iso, str(quantity), text]
                said += [fields[i].strip() for i in others]
                key = hex_seconds + _digest(said)
                legacy = None
                if cents is not None:  # keyed to the cent; the key it had before, too
                    legacy, said[3] = key, cents
                    key = hex_seconds + _digest(said)
                if baskets is None:
                    yield Transaction(line, customer, at, quantity, amount, key, legacy)
                    continue
                yield Transaction(
                    line,
                    customer,
                    at,
                    quantity,
                    amount,
                    key,
                    legacy,
                    basket or key,
                    product,
                    description,
                )
        except (OSError, EOFError, zlib.error, csv.Error) as exc:
            raise LogUnreadable(f"line {line + 1}: the file cannot be read ({exc})") from None


class _Values:
    """A log's values checked and converted, each distinct one once: `customers` (raw ->
    id), `dates` (raw -> UTC time, its seconds since year 1 in hex, its ISO text as keyed),
    `quantities` (raw -> units), `amounts` ((raw, the quantity for unit prices, else whether
    it is negative) -> (amount with a return's sign, as keyed, to the cent when keyed
    otherwise)). A miss goes through the method of the same name, which raises _BadLine for
    a bad value (not remembered). Each memory is cleared when full (bounded)."""

    def __init__(self, log_format: LogFormat) -> None:
        self.customers: dict[str, str] = {}
        self.dates: dict[str, tuple[datetime, str, str]] = {}
        self.quantities: dict[str, int] = {}
        self.amounts: dict[tuple[str, Any], tuple[Decimal, str, str | None]] = {}
        self.numbers = (self.quantities, self.amounts)
        self.parse_date = _date_parser(log_format.date_format)
        self.by_price = log_format.price is not None
        self.now = datetime.now(UTC)

    def customer(self, raw: str) -> str:
        return _remembered(self.customers, raw, _customer(raw))

    def date(self, raw: str) -> tuple[datetime, str, str]:
        at = self.parse_date(raw.strip())
        if at > self.now:
            raise _BadLine("date is in the future")
        seconds = int((at - _EPOCH).total_seconds())
        return _remembered(self.dates, raw, (at, f"{seconds:012x}", at.isoformat()))

    def quantity(self, raw: str) -> int:
        return _remembered(self.quantities, raw, _quantity(raw))

    def amount(self, written: tuple[str, Any]) -> tuple[Decimal, str, str | None]:
        raw, by = written  # by: the quantity (unit prices), else whether it is negative
        amount = _amount(raw, by if self.by_price else None)
        if by < 0 or by is True or amount < 0:  # a return, whichever sign the log wrote
            amount = -abs(amount) + 0
        text = str(amount)
        cents = None if text[-3:-2] == "." else str(amount.quantize(_CENT))
        return _remembered(self.amounts, written, (amount, text, cents))


class _BadLine(ValueError):
    pass


def _digest(values: list[str]) -> str:
    """The last 20 of a line's key's 32 hex digits: a digest of all its values (80 bits).
    The first 12 are its time in seconds since year 1: logs are mostly in time order, so new
    keys land at the end of the unique index instead of all over it."""
    return blake2b("\x1f".join(values).encode(), digest_size=10).hexdigest()


def basket_key(customer: str, invoice: str) -> str:
    """32 characters naming the basket `invoice` of `customer`: "i" and a digest. It never
    equals a line's key (all hex digits), and it does not change when a later export adds
    a line to the basket, even an earlier one."""
    digest = blake2b(f"{customer}\x1f{invoice}".encode(), digest_size=16).hexdigest()
    return f"i{digest[:31]}"


class _BasketFields:
    """A line's basket key, product code and description, checked; values repeat from line
    to line (a basket's lines, a product's code and description), so each is worked out
    once and remembered (memory bounded)."""

    def __init__(self, invoice: int | None, product: int | None, description: int | None):
        self.invoice, self.product, self.description = invoice, product, description
        self.basket: tuple[str, str, str] = ("", "", "")  # customer, invoice as written, key
        self.codes: dict[str, str] = {}
        self.names: dict[str, str | None] = {}

    def read(self, fields: list[str], customer: str) -> tuple[str | None, str | None, str | None]:
        """(basket key or None, code, description); _BadLine when the invoice or code is bad."""
        basket = None
        if self.invoice is not None:
            invoice = fields[self.invoice]
            last_customer, last_invoice, basket = self.basket
            if invoice != last_invoice or customer != last_customer:
                basket = self._basket(customer, invoice)
        code = None
        if self.product is not None:
            raw = fields[self.product]
            code = self.codes.get(raw) or self._code(raw)
        name = None
        if self.description is not None:
            raw = fields[self.description]
            name = self.names.get(raw, _UNSEEN)
            if name is _UNSEEN:
                name = _remembered(self.names, raw, _one_line(raw)[:_NAME_CHARACTERS] or None)
        return basket, code, name  # type: ignore[return-value]

    def _basket(self, customer: str, raw: str) -> str:
        invoice = raw.strip()
        if not invoice:
            raise _BadLine("invoice is empty")
        basket = basket_key(customer, invoice)
        self.basket = (customer, raw, basket)
        return basket

    def _code(self, raw: str) -> str:
        code = self.codes.get(raw)
        if code is not None:
            return code
        code = raw.strip().lstrip("'")
        if not code:
            raise _BadLine("product code is empty")
        if len(code) > MOST_CODE_CHARACTERS:
            raise _BadLine(f"product code is longer than {MOST_CODE_CHARACTERS} characters")
        if _CONTROL.search(code):
            raise _BadLine("product code holds a control character (a tab, NUL or similar)")
        return _remembered(self.codes, raw, code)


def _remembered(cache: dict[Any, Any], raw: Any, value: _T) -> _T:
    if len(cache) >= _REMEMBERED:
        cache.clear()
    cache[raw] = value
    return value


def _one_line(text: str) -> str:
    """`text` with control characters and runs of spaces as single spaces, trimmed."""
    return " ".join(_CONTROL.sub(" ", text).split())


def reading(line: int, read: Callable[[], _T]) -> _T:
    """`read()`, with a broken file (bad gzip, binary data) as LogUnreadable at `line`."""
    try:
        return read()
    except (OSError, EOFError, zlib.error, csv.Error) as exc:
        raise LogUnreadable(f"line {line}: the file cannot be read ({exc})") from None


def _delimiter(header_line: str, choice: str) -> str:
    """The named delimiter, or for "auto" the most frequent of comma, tab and semicolon in
    the header line, or runs of spaces when it has none of them."""
    if choice != "auto":
        return DELIMITERS[choice]
    counts = {d: header_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else " "


def _customer(raw: str) -> str:
    customer = raw.strip()
    if not customer:
        raise _BadLine("customer id is empty")
    if len(customer) > 100:
        raise _BadLine("customer id is longer than 100 characters")
    if _CONTROL.search(customer):
        raise _BadLine("customer id holds a control character (a tab, NUL or similar)")
    return customer


def _quantity(raw: str) -> int:
    try:
        quantity = int(raw.strip())
    except ValueError:
        raise _BadLine(f"quantity {raw!r} is not a whole number") from None
    if quantity == 0:
        raise _BadLine("quantity is 0")
    if abs(quantity) > _MOST_UNITS:
        raise _BadLine(f"quantity {raw.strip()} is more than {_MOST_UNITS:,} units")
    return quantity


def _amount(raw: str, quantity: int | None) -> Decimal:
    """The line's total: the amount column, or quantity x unit price rounded to the cent."""
    name = "amount" if quantity is None else "price"
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise _BadLine(f"{name} {raw!r} is not a number") from None
    if not value.is_finite():
        raise _BadLine(f"{name} {raw!r} is not a number")
    if quantity is not None:
        value = (value * quantity).quantize(_CENT, rounding=ROUND_HALF_EVEN)
    elif value != value.quantize(_CENT):
        raise _BadLine(f"amount {raw!r} has more than two decimals")
    if abs(value) >= _TOO_LARGE:
        raise _BadLine(f"{name} {raw!r} is too large")
    return value + 0  # -0.00 is 0.00 (keys must not tell them apart)


def _date_parser(date_format: str) -> Callable[[str], datetime]:
    """Text to an aware UTC datetime (`_Values.date` remembers each date's)."""

    def parse(raw: str) -> datetime:
        try:
            if date_format == ISO:
                at = datetime.fromisoformat(raw)
            else:
                at = datetime.strptime(raw, date_format)
        except ValueError:
            shown = "an ISO date like 2026-03-01" if date_format == ISO else repr(date_format)
            raise _BadLine(f"date {raw!r} does not match {shown}") from None
        try:
            return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        except OverflowError:  # an offset that moves it before year 1 or after 9999
            raise _BadLine(f"date {raw!r} is out of range") from None

    return parse
