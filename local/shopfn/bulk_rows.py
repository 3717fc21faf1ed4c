"""Many-row INSERTs for bulk loads, without SQLAlchemy's per-row work.

SQLAlchemy builds a parameter dictionary for every row and runs every column type's bind
conversion on every value: for an import of a million lines that is most of the time. Here
each column's conversion (the model's own: UTC datetimes, two-place money, JSON) runs once
per distinct value (logs repeat dates and prices a lot). On PostgreSQL the rows go out as
one `COPY ... FROM STDIN` (CSV) per call: the server parses text rows faster than bound
parameters, and pg8000 encodes no parameter one by one. Elsewhere they are multi-row
`INSERT ... VALUES (...), (...)` statements of up to ROWS_PER_STATEMENT rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table

#: Rows per statement: few round trips, well under every driver's parameter limit (32,767).
ROWS_PER_STATEMENT = 1000
#: Distinct values remembered per column before the memory is cleared (bounded memory).
_CACHE_SIZE = 50_000


class BulkInsert:
    """Insert tuples of `columns` of `table` over `connection` (inside its transaction)."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = connection.dialect
        self.connection = connection
        self.converters = [_converter(table.c[name].type, dialect) for name in columns]
        quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        target = f"{quote(table.name)} ({', '.join(quote(c) for c in columns)})"
        self.head = f"INSERT INTO {target} "
        self.row = f"({', '.join([marker] * len(columns))})"
        self.statements: dict[int, str] = {}
        self.copy = None
        if dialect.name == "postgresql":
            self.copy = f"COPY {target} FROM STDIN WITH (FORMAT csv)"

    def insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if self.copy is not None:
            self._copy(rows)
            return
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            params = [
                convert(value) if convert else value
                for row in chunk
                for convert, value in zip(self.converters, row, strict=True)
            ]
            self.connection.exec_driver_sql(self._statement(len(chunk)), tuple(params))

    def _copy(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """The rows as one COPY; every field quoted, so none reads as NULL (none is NULL)."""
        text = io.StringIO()
        out = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
        converters = self.converters
        out.writerows(
            [
                convert(value) if convert else value
                for convert, value in zip(converters, row, strict=True)
            ]
            for row in rows
        )
        cursor: Any = self.connection.connection.cursor()  # pg8000's, which takes a stream
        try:
            cursor.execute(self.copy, stream=[text.getvalue()])
        finally:
            cursor.close()

    def _statement(self, rows: int) -> str:
        statement = self.statements.get(rows)
        if statement is None:
            statement = self.statements[rows] = self.head + "VALUES " + ",".join([self.row] * rows)
        return statement


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The type's bind conversion for `dialect`, remembered per value; None if there is none."""
    process = column_type._cached_bind_processor(dialect)
    if process is None:
        return None
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            converted = cache[value] = process(value)
            return converted
        except TypeError:  # unhashable (a JSON document)
            return process(value)

    return convert
