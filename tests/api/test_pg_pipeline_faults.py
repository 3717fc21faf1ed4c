"""The pipelined pg8000 connection when things go wrong: half-read answers, stale kept
statements, timeouts, and a transaction pooler in between.

Runs against the PostgreSQL server of the suite, and through the session's PgBouncer.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pg8000
import pytest
import sqlalchemy as sa
from pgbouncer import Pooler
from sqlalchemy.engine import make_url
from support import PG_ADMIN_URL

from shop.postgres import PIPELINE_PG8000, pipeline_supported

if not pipeline_supported():  # pg_pipeline is never used on another pg8000 (shop.postgres)
    pytest.skip(f"pg_pipeline runs on pg8000 {PIPELINE_PG8000} only", allow_module_level=True)

from shop import pg_pipeline
from shop.pg_pipeline import PipelinedConnection

INT4 = 23


def _params(url: str = PG_ADMIN_URL) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "user": parsed.username,
        "host": parsed.host,
        "port": parsed.port,
        "database": parsed.database,
    }


@contextmanager
def _connect(url: str = PG_ADMIN_URL, **options: Any) -> Iterator[PipelinedConnection]:
    """A pipelined connection, closed at the end unless a failure closed it already."""
    connection = PipelinedConnection(**_params(url), **options)
    try:
        yield connection
    finally:
        if connection._usock is not None:
            connection.close()


def _engine(url: str = PG_ADMIN_URL, **options: Any) -> sa.Engine:
    """A one-connection engine on the pipelined connection, as shop.db builds it."""
    engine = sa.create_engine(url, pool_size=1, max_overflow=0)
    pg_pipeline.install(engine, **{"prepare_threshold": None, **options})
    return engine


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    built = _engine()
    yield built
    built.dispose()


def _fails_on(bad: int) -> Any:
    def adapt(text: str) -> int:
        if int(text) == bad:
            raise ValueError(f"cannot read {text}")
        return int(text)

    return adapt


def test_an_exception_while_reading_rows_closes_the_connection() -> None:
    with _connect() as connection:
        connection.register_in_adapter(INT4, _fails_on(3))
        cursor = connection.cursor()
        with pytest.raises(pg8000.InterfaceError, match="network error") as failed:
            cursor.execute("select g from generate_series(1, %s) g", (10,))
        assert isinstance(failed.value.__cause__, ValueError)
        # Rows 4..10 and ReadyForQuery were left on the socket: it is gone with them.
        with pytest.raises(pg8000.InterfaceError, match="connection is closed"):
            cursor.execute("select %s::int", (1,))


def test_sqlalchemy_discards_a_connection_whose_answer_was_half_read(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        first_pid = connection.execute(sa.text("select pg_backend_pid()")).scalar()
        connection.connection.dbapi_connection.register_in_adapter(INT4, _fails_on(3))
        with pytest.raises(sa.exc.InterfaceError) as failed:
            connection.execute(sa.text("select g from generate_series(1, 10) g")).all()
        assert failed.value.connection_invalidated
    with engine.connect() as connection:  # the pool's only connection, checked out again
        rows = connection.execute(sa.text("select 'mine', pg_backend_pid()")).all()
    assert rows[0][0] == "mine"  # this request's row, not the other one's leftovers
    assert rows[0][1] != first_pid


def test_a_read_that_waits_past_the_read_timeout_drops_the_connection() -> None:
    with _connect(read_timeout=0.3) as connection:
        cursor = connection.cursor()
        started = time.monotonic()
        with pytest.raises(pg8000.InterfaceError, match="network error"):
            cursor.execute("select pg_sleep(%s)", (5,))
        assert time.monotonic() - started < 3
        with pytest.raises(pg8000.InterfaceError, match="connection is closed"):
            cursor.execute("select 1")


def test_a_server_that_never_answers_fails_the_connect_within_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never speaks
        port = silent.getsockname()[1]
        engine = _engine(f"postgresql+pg8000://postgres@127.0.0.1:{port}/x", connect_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(sa.exc.InterfaceError):
            engine.connect()
        assert time.monotonic() - started < 3
        engine.dispose()


@pytest.mark.parametrize("route", ["direct", "pgbouncer"])
def test_the_statement_timeout_cancels_a_statement_and_the_connection_stays_usable(
    route: str, request: pytest.FixtureRequest
) -> None:
    url = PG_ADMIN_URL
    if route == "pgbouncer":
        pooler: Pooler = request.getfixturevalue("pooler")
        url = pooler.url_for(url)
    engine = _engine(url, statement_timeout=0.2, connect_timeout=5)
    try:
        with engine.connect() as connection:
            with pytest.raises(sa.exc.DatabaseError) as cancelled:
                connection.execute(sa.text("select pg_sleep(3)"))
            assert cancelled.value.orig.args[0]["C"] == "57014"  # query_canceled
            connection.rollback()
            assert connection.execute(sa.text("select pg_sleep(0.05), 'alive'")).one()[1] == "alive"
            setting = connection.execute(sa.text("show statement_timeout")).scalar()
        assert setting == "200ms"  # per transaction: SET LOCAL, no session state to pin
        with engine.connect() as connection:
            assert connection.execute(sa.text("select 1")).scalar() == 1
    finally:
        engine.dispose()


def test_the_statement_timeout_never_outlives_its_transaction() -> None:
    with _connect(statement_timeout=0.2) as timed, _connect() as plain:
        cursor = timed.cursor()
        cursor.execute("select current_setting('statement_timeout')")
        assert list(cursor.fetchall()) == [["200ms"]]
        timed.commit()
        timed.autocommit = True  # outside a transaction the server's own setting holds
        cursor.execute("select current_setting('statement_timeout')")
        default = plain.cursor()
        default.execute("select current_setting('statement_timeout')")
        assert list(cursor.fetchall()) == list(default.fetchall())


def test_a_kept_statement_lost_by_discard_all_is_run_again_unnamed() -> None:
    with _connect(prepare_threshold=1) as connection:
        connection.autocommit = True
        cursor = connection.cursor()
        cursor.execute("select %s::int * 2", (2,))
        cursor.execute("discard all")  # what a session pooler runs between clients
        cursor.execute("select %s::int * 2", (3,))  # 26000, forgotten, retried
        assert list(cursor.fetchall()) == [[6]]
        cursor.execute("select %s::int * 2", (4,))  # kept again
        assert list(cursor.fetchall()) == [[8]]


def test_a_kept_statement_whose_result_type_changed_is_run_again() -> None:
    with _connect(prepare_threshold=1) as connection:
        cursor = connection.cursor()
        cursor.execute("create temp table t (a int)")
        cursor.execute("insert into t values (1)")
        connection.commit()
        cursor.execute("select * from t where %s::bool", (True,))
        assert list(cursor.fetchall()) == [[1]]
        connection.commit()
        cursor.execute("alter table t alter column a type text")
        connection.commit()
        cursor.execute("select * from t where %s::bool", (True,))  # 0A000, retried once
        assert list(cursor.fetchall()) == [["1"]]
        connection.commit()


def test_a_lost_kept_statement_mid_transaction_fails_and_is_never_rerun() -> None:
    with _connect(prepare_threshold=1) as connection:
        cursor = connection.cursor()
        cursor.execute("create temp table log (n int)")
        cursor.execute("select count(*) from log where %s::bool", (True,))
        connection.commit()
        cursor.execute("insert into log values (1)")
        cursor.execute("deallocate all")
        with pytest.raises(pg8000.dbapi.ProgrammingError) as lost:
            cursor.execute("select count(*) from log where %s::bool", (True,))
        assert lost.value.args[0]["C"] == "26000"  # the insert is lost: the caller decides
        connection.rollback()
        cursor.execute("select count(*) from log where %s::bool", (True,))
        assert list(cursor.fetchall()) == [[0]]


def test_kept_statements_behind_pgbouncer_never_run_another_clients_statement(
    pooler: Pooler,
) -> None:
    url = pooler.url_for(PG_ADMIN_URL)
    with _connect(url, prepare_threshold=1) as one, _connect(url, prepare_threshold=1) as two:
        for _ in range(5):
            for connection, sql, expected in (
                (one, "select %s::int + 1", 2),
                (two, "select %s::int * 10", 10),
            ):
                cursor = connection.cursor()
                cursor.execute(sql, (1,))
                assert list(cursor.fetchall()) == [[expected]]
                connection.commit()


def test_with_the_timeout_on_the_role_no_transaction_sends_a_set() -> None:
    engine = _engine(statement_timeout=0.2, connect_timeout=0.1, set_statement_timeout=False)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("show statement_timeout")).scalar() == "0"
            started = time.monotonic()
            with pytest.raises(sa.exc.InterfaceError):  # still bounded: by the read timeout
                connection.execute(sa.text("select pg_sleep(3)"))
            assert time.monotonic() - started < 2
    finally:
        engine.dispose()
