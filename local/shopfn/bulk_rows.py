"""Many-row INSERTs for bulk loads, without SQLAlchemy's per-row work.

SQLAlchemy builds a parameter dictionary for every row and runs every column type's bind
conversion on every value: for an import of a million lines that is most of the time. Here
rows hold values already converted by `converter` (the model's own conversion: UTC
datetimes, two-place money, JSON), which the caller runs once per distinct value and shares
between columns holding the same value. On PostgreSQL the rows go out as
one `COPY ... FROM STDIN` (CSV) per call: the server parses text rows faster than bound
parameters, and pg8000 encodes no parameter one by one. Elsewhere they are multi-row
`INSERT ... VALUES (...), (...)` statements of up to ROWS_PER_STATEMENT rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Dialect, Table

#: Rows per statement: few round trips, well under every driver's parameter limit (32,767).
ROWS_PER_STATEMENT = 1000
#: Distinct values remembered per column before the memory is cleared (bounded memory).
_CACHE_SIZE = 50_000


class BulkInsert:
    """Insert tuples of converted values of `columns` of `table` (in the open transaction)."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        dialect = connection.dialect
        self.connection = connection
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
            params = tuple(value for row in chunk for value in row)
            self.connection.exec_driver_sql(self._statement(len(chunk)), params)

    def _copy(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """The rows as one COPY; every field quoted, so none reads as NULL (none is NULL)."""
        text = io.StringIO()
        out = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
        out.writerows(rows)
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


def converter(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """`column`'s bind conversion for `dialect`, remembered per value (if it hashes)."""
    process = column.type._cached_bind_processor(dialect)
    if process is None:
        return lambda value: value
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
