"""Many-row INSERTs for bulk loads, without SQLAlchemy's per-row work.

SQLAlchemy builds a parameter dictionary for every row and runs every column type's bind
conversion on every value: for an import of a million lines that is most of the time. Here
rows hold values already converted by `converter` (the model's own conversion: UTC
datetimes, two-place money, JSON), which the caller runs once per distinct value and shares
between columns holding the same value. The rows go out as multi-row
`INSERT ... VALUES (...), (...)` statements of up to ROWS_PER_STATEMENT rows. (PostgreSQL
imports use one statement per batch instead: see `import_postgresql`.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain
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
        self.quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        target = f"{self.quote(table.name)} ({', '.join(self.quote(c) for c in columns)})"
        self.head = f"INSERT INTO {target} "
        self.row = f"({', '.join([marker] * len(columns))})"
        self.statements: dict[tuple[int, tuple[str, ...]], str] = {}
        self.returns = bool(dialect.insert_returning)

    def insert(
        self, rows: Sequence[tuple[Any, ...]], returning: tuple[str, str] | None = None
    ) -> dict[Any, Any] | None:
        """Insert `rows`; with `returning` (two columns) and a database that has INSERT ...
        RETURNING, the inserted rows' first column's values mapped to their second's, else
        None."""
        returned: dict[Any, Any] | None = None
        if returning is not None and self.returns:
            returned = {}
        else:
            returning = None
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            params = tuple(chain.from_iterable(chunk))
            result = self.connection.exec_driver_sql(self._statement(len(chunk), returning), params)
            if returned is not None:
                returned.update(result.all())  # type: ignore[arg-type]
        return returned

    def _statement(self, rows: int, returning: tuple[str, ...] | None) -> str:
        statement = self.statements.get((rows, returning or ()))
        if statement is None:
            statement = self.head + "VALUES " + ",".join([self.row] * rows)
            if returning:
                statement += " RETURNING " + ", ".join(self.quote(c) for c in returning)
            self.statements[rows, returning or ()] = statement
        return statement


def converter(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """`column`'s bind conversion for `dialect`, remembered per value (if it hashes)."""
    process = column.type._cached_bind_processor(dialect)
    if process is None:
        return lambda value: value
    return remembered(process)


def remembered(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, run once per distinct value (bulk loads repeat values a lot); values that
    do not hash (a JSON document) are processed every time. Memory is bounded."""
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            converted = cache[value] = process(value)
            return converted
        except TypeError:
            return process(value)

    return convert
