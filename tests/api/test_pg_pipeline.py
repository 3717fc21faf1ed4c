"""The pipelined pg8000 connection: pg8000's answers, in one round trip per statement.

Runs against the PostgreSQL server of the suite (it must be up: these tests never skip).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pg8000
import pytest
from sqlalchemy.engine import make_url
from support import PG_ADMIN_URL

from shop.postgres import PIPELINE_PG8000, pipeline_supported

if not pipeline_supported():  # pg_pipeline is never used on another pg8000 (shop.postgres)
    pytest.skip(f"pg_pipeline runs on pg8000 {PIPELINE_PG8000} only", allow_module_level=True)

from shop.pg_pipeline import MAX_PREPARED, MAX_PREPARED_PARAMETERS, PipelinedConnection


class _CountingSocket:
    """The connection's buffered socket, counting the writes it flushes (its round trips)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        self.inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _params() -> dict[str, Any]:
    url = make_url(PG_ADMIN_URL)
    return {"user": url.username, "host": url.host, "port": url.port, "database": url.database}


def _pipelined(prepare_threshold: int | None = None) -> closing[PipelinedConnection]:
    """A pipelined connection to the test server, closed when the `with` block ends."""
    return closing(PipelinedConnection(**_params(), prepare_threshold=prepare_threshold))


@pytest.fixture
def connections() -> Iterator[tuple[Any, PipelinedConnection]]:
    """pg8000's own connection and a pipelined one, to the same server."""
    plain = pg8000.connect(**_params())
    pipelined = PipelinedConnection(**_params())
    yield plain, pipelined
    plain.close()
    pipelined.close()


ROWS_SQL = (
    "select %s::int, %s::text, %s::numeric(12,2), %s::timestamptz, %s::date, %s::text,"
    " %s::jsonb, 'it''s 100%%', %s::timestamp"
)
ROWS_ARGS = (
    7,
    "héllo",
    Decimal("19.99"),
    datetime(2026, 12, 1, 7, 30, 15, 123456, tzinfo=UTC),
    date(2026, 2, 28),
    None,
    '{"a": [1, 2]}',
    datetime(2026, 1, 2, 3, 4, 5),
)


def test_rows_types_and_row_counts_are_pg8000s_own(
    connections: tuple[Any, PipelinedConnection],
) -> None:
    plain, pipelined = connections
    answers = []
    for connection in (plain, pipelined):
        cursor = connection.cursor()
        cursor.execute(ROWS_SQL, ROWS_ARGS)
        rows = cursor.fetchall()
        names = [column[0] for column in cursor.description]
        cursor.execute("create temp table t (id serial primary key, v text)")
        cursor.execute("insert into t (v) select 'x' || g from generate_series(1, %s) g", (5,))
        inserted = cursor.rowcount
        cursor.execute("update t set v = %s where id > %s", ("y", 2))
        updated = cursor.rowcount
        cursor.execute("select id, v from t where v = %s order by id", ("y",))
        answers.append((rows, names, inserted, updated, cursor.fetchall()))
        connection.rollback()
    assert answers[0] == answers[1]
    rows = answers[1][0]
    assert rows[0][3] == ROWS_ARGS[3] and rows[0][3].utcoffset() is not None
    assert rows[0][7] == "it's 100%%"  # pg8000 leaves quoted text as it is


def test_a_one_statement_transaction_and_its_commit_cost_two_round_trips(
    connections: tuple[Any, PipelinedConnection],
) -> None:
    plain, pipelined = connections
    trips = {}
    for name, connection in (("plain", plain), ("pipelined", pipelined)):
        counter = _CountingSocket(connection._sock)
        connection._sock = counter
        cursor = connection.cursor()
        cursor.execute("select %s::int + 1", (41,))
        assert list(cursor.fetchall()) == [[42]]
        connection.commit()
        trips[name] = counter.flushes
        connection._sock = counter.inner
    assert trips == {"plain": 7, "pipelined": 2}


def test_an_error_is_raised_and_the_connection_stays_in_step(
    connections: tuple[Any, PipelinedConnection],
) -> None:
    _, connection = connections
    cursor = connection.cursor()
    with pytest.raises(pg8000.dbapi.ProgrammingError) as failed:
        cursor.execute("select 1 / %s::int", (0,))  # the first statement, sent with BEGIN
    assert failed.value.args[0]["C"] == "22012"  # division_by_zero
    with pytest.raises(pg8000.dbapi.ProgrammingError) as aborted:
        cursor.execute("select %s::int", (1,))
    assert aborted.value.args[0]["C"] == "25P02"  # in_failed_sql_transaction
    connection.rollback()
    with pytest.raises(pg8000.dbapi.ProgrammingError):
        cursor.execute("selec %s", (1,))  # a syntax error fails at Parse
    connection.rollback()
    cursor.execute("select %s::text", ("still in step",))
    assert list(cursor.fetchall()) == [["still in step"]]


def test_a_transaction_that_ran_nothing_costs_nothing_and_commits_cleanly(
    connections: tuple[Any, PipelinedConnection],
) -> None:
    _, connection = connections
    counter = _CountingSocket(connection._sock)
    connection._sock = counter
    connection.execute_simple("begin transaction")
    connection.commit()
    connection.execute_simple("begin transaction")
    connection.rollback()
    assert counter.flushes == 0
    cursor = connection.cursor()
    cursor.execute("select txid_current_if_assigned() is null, %s::int", (1,))
    assert list(cursor.fetchall()) == [[True, 1]]
    connection.commit()
    assert counter.flushes == 2
    connection._sock = counter.inner


def test_values_fromisoformat_cannot_read_still_parse() -> None:
    with _pipelined() as connection:
        cursor = connection.cursor()
        cursor.execute(
            "select 'infinity'::timestamptz, '-infinity'::timestamp, 'infinity'::date,"
            " %s::timestamptz",
            ("2026-12-01 10:00:00+05:30",),
        )
        row = cursor.fetchall()[0]
        assert row[:3] == ["infinity", "-infinity", "infinity"]
        assert row[3] == datetime(2026, 12, 1, 4, 30, tzinfo=UTC)


def test_named_parameters_are_bound_by_name_each_time(
    connections: tuple[Any, PipelinedConnection],
) -> None:
    _, connection = connections
    cursor = connection.cursor()
    cursor.paramstyle = "named"
    for a, b in ((1, 2), (30, 4)):
        cursor.execute("select :a::int, :b::int, :a::int + :b::int", {"b": b, "a": a})
        assert list(cursor.fetchall()) == [[a, b, a + b]]


def _prepared_on_server(connection: PipelinedConnection) -> list[str]:
    cursor = connection.cursor()
    cursor.execute("select statement from pg_prepared_statements order by prepare_time")
    return [row[0] for row in cursor.fetchall()]


def test_a_statement_run_again_is_kept_prepared_and_answers_the_same() -> None:
    with _pipelined(2) as connection:
        cursor = connection.cursor()
        answers = []
        for _ in range(4):
            cursor.execute(ROWS_SQL, ROWS_ARGS)
            answers.append(list(cursor.fetchall()))
            connection.commit()
        assert answers[1:] == answers[:1] * 3
        (kept,) = [text for text in _prepared_on_server(connection) if "jsonb" in text]
        assert kept.startswith("select $1::int, $2::text") and "$8::timestamp" in kept


def test_a_failing_prepared_statement_is_prepared_anew_and_the_connection_stays_in_step() -> None:
    with _pipelined(1) as connection:
        cursor = connection.cursor()
        cursor.execute("select 10 / %s::int", (2,))
        assert list(cursor.fetchall()) == [[5]]
        with pytest.raises(pg8000.dbapi.ProgrammingError) as failed:
            cursor.execute("select 10 / %s::int", (0,))
        assert failed.value.args[0]["C"] == "22012"
        connection.rollback()
        cursor.execute("select 10 / %s::int", (5,))
        assert list(cursor.fetchall()) == [[2]]
        # The failed name was closed with that write; only the new one is left.
        assert _prepared_on_server(connection) == ["select 10 / $1::int"]


def test_a_connection_keeps_at_most_max_prepared_statements() -> None:
    with _pipelined(1) as connection:
        cursor = connection.cursor()
        for i in range(MAX_PREPARED + 10):
            cursor.execute(f"select %s::int + {i}", (1,))
            assert list(cursor.fetchall()) == [[1 + i]]
        kept = _prepared_on_server(connection)
        assert len(kept) <= MAX_PREPARED
        assert f"select $1::int + {MAX_PREPARED + 9}" in kept
        assert "select $1::int + 0" not in kept  # the least recently used went first


def test_a_statement_with_very_many_parameters_is_never_kept() -> None:
    with _pipelined(1) as connection:
        cursor = connection.cursor()
        many = MAX_PREPARED_PARAMETERS + 1
        sql = "select " + " + ".join(["%s::int"] * many)
        for _ in range(3):
            cursor.execute(sql, (1,) * many)
            assert list(cursor.fetchall()) == [[many]]
        cursor.execute("select %s::int", (1,))
        assert _prepared_on_server(connection) == ["select $1::int"]


def test_without_a_threshold_nothing_is_prepared(
    connections: tuple[Any, PipelinedConnection],
) -> None:
    _, connection = connections
    cursor = connection.cursor()
    for _ in range(5):
        cursor.execute("select %s::int", (1,))
    assert _prepared_on_server(connection) == []


def test_the_engine_uses_the_pipelined_connection_for_pg8000(database: str) -> None:
    from shop.db import get_engine

    engine = get_engine()
    with engine.connect() as connection:
        driver = connection.connection.dbapi_connection
    expected = PipelinedConnection if database in ("postgresql", "pgbouncer") else object
    assert isinstance(driver, expected)
