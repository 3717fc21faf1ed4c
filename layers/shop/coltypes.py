"""Column types that behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, Numeric, String
from sqlalchemy.types import TypeDecorator

#: Big integer primary keys that SQLite still treats as rowid aliases.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
#: MariaDB's (and MySQL's) collation comparing text by its characters, case included.
EXACT_COLLATION = "utf8mb4_bin"


class ExactString(TypeDecorator[str]):
    """Text compared exactly, letter case included, on every database (a product's SKU).

    SQLite and PostgreSQL compare text that way; MariaDB's default collation ignores case
    ("85123A" would be "85123a"), so there the column takes the binary collation."""

    impl = String
    cache_ok = True

    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(String(self.length, collation=EXACT_COLLATION))
        return dialect.type_descriptor(String(self.length))


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend stores.

    PostgreSQL keeps `timestamptz`; SQLite and MariaDB keep naive UTC (with microseconds),
    and the aware value is rebuilt on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in ("mysql", "mariadb"):
            # Imported here: the whole MySQL dialect package costs ~45 ms of every cold start.
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; shopfn stores aware UTC only")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """Decimal amounts with two places; never floats."""

    impl = Numeric(12, 2, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        # SQLite stores a double; two-place amounts survive the round trip exactly once
        # re-quantized on read (doubles carry 15 significant digits, amounts at most 12).
        return Decimal(value).quantize(Decimal("0.01"))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))
