"""PostgreSQL connections as `shop.db` builds them, on the driver of TEST_PG_URL (psycopg 3 by
default; `make test` runs this file again with pg8000): statement timeouts, connect
timeouts, nothing half-read, no named prepared statements behind a pooler, and database
errors logged by code and place, never by the server's text.

Runs against the PostgreSQL server of the suite, and through the session's PgBouncer.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pgbouncer import Pooler
from sqlalchemy.engine import make_url
from support import PG_ADMIN_URL

from shop import postgres
from shop.logging import database_cause

DRIVER = make_url(PG_ADMIN_URL).get_driver_name()


def _engine(url: str = PG_ADMIN_URL, **options: Any) -> sa.Engine:
    """A one-connection engine with shopfn's connection setup."""
    engine = sa.create_engine(url, pool_size=1, max_overflow=0)
    postgres.install(engine, **options)
    return engine


@pytest.fixture(params=["direct", "pgbouncer"])
def url(request: pytest.FixtureRequest) -> str:
    """The test server directly, or through PgBouncer in transaction mode."""
    if request.param == "direct":
        return PG_ADMIN_URL
    pooler: Pooler = request.getfixturevalue("pooler")
    return pooler.url_for(PG_ADMIN_URL)


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    built = _engine(url, statement_timeout=0.3, connect_timeout=5)
    yield built
    built.dispose()


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    cause = database_cause(error)
    assert cause is not None
    return cause.get("code")


def test_the_statement_timeout_cancels_a_statement_and_the_connection_stays_usable(
    engine: sa.Engine,
) -> None:
    with engine.connect() as connection:
        pid = connection.execute(sa.text("select pg_backend_pid()")).scalar()
        started = time.monotonic()
        with pytest.raises(sa.exc.DBAPIError) as cancelled:
            connection.execute(sa.text("select pg_sleep(3)"))
        assert time.monotonic() - started < 2
        assert _sqlstate(cancelled.value) == "57014"  # query_canceled
        assert not cancelled.value.connection_invalidated
        connection.rollback()
        alive = connection.execute(sa.text("select 'alive', current_setting('statement_timeout')"))
        assert tuple(alive.one()) == ("alive", "300ms")  # SET LOCAL: per transaction
    if engine.url.port == make_url(PG_ADMIN_URL).port:  # a pooler may switch backends
        with engine.connect() as connection:
            assert connection.execute(sa.text("select pg_backend_pid()")).scalar() == pid


def test_the_statement_timeout_never_outlives_its_transaction(url: str) -> None:
    timed = _engine(url, statement_timeout=0.3, connect_timeout=5)
    plain = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with timed.connect() as connection:
            inside = connection.execute(sa.text("show statement_timeout")).scalar()
            connection.commit()
            outside = (
                connection.execution_options(isolation_level="AUTOCOMMIT")
                .execute(sa.text("show statement_timeout"))
                .scalar()
            )
        with plain.connect() as connection:
            default = connection.execute(sa.text("show statement_timeout")).scalar()
        assert (inside, outside) == ("300ms", default)
    finally:
        timed.dispose()
        plain.dispose()


def test_with_the_timeout_on_the_role_no_transaction_sends_a_set(url: str) -> None:
    engine = _engine(url, statement_timeout=0.3, connect_timeout=5, set_statement_timeout=False)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("show statement_timeout")).scalar() == "0"
    finally:
        engine.dispose()


def test_a_server_that_never_answers_fails_the_connect_within_the_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never speaks
        port = silent.getsockname()[1]
        silent_url = make_url(PG_ADMIN_URL).set(port=port).render_as_string(False)
        # psycopg waits the connect timeout (libpq: whole seconds, at least 2); pg8000 the
        # statement timeout plus the connect timeout (its one socket timeout).
        engine = _engine(silent_url, connect_timeout=0.3, statement_timeout=1)
        started = time.monotonic()
        with pytest.raises(sa.exc.DBAPIError):
            engine.connect()
        assert time.monotonic() - started < 4
        engine.dispose()


def _failing_reader(connection: Any) -> None:
    """Make the driver fail to read the integer 3 on this connection (a broken converter)."""
    if DRIVER == "psycopg":
        from psycopg.types.numeric import IntLoader

        class Failing(IntLoader):
            def load(self, data: Any) -> int:
                if bytes(data) == b"3":
                    raise ValueError("cannot read 3")
                return int(super().load(data))

        connection.adapters.register_loader("int4", Failing)
    else:

        def adapt(text: str) -> int:
            if text == "3":
                raise ValueError("cannot read 3")
            return int(text)

        connection.register_in_adapter(23, adapt)  # int4


def test_a_failure_while_reading_rows_leaves_nothing_for_the_next_statement(url: str) -> None:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            _failing_reader(connection.connection.dbapi_connection)
            with pytest.raises((sa.exc.DBAPIError, ValueError)):
                connection.execute(sa.text("select g from generate_series(1, 1000) g")).all()
        with engine.connect() as connection:  # the pool's only connection, checked out again
            rows = connection.execute(sa.text("select 'mine', 1")).all()
        assert [tuple(row) for row in rows] == [("mine", 1)]  # never the other query's rows
    finally:
        engine.dispose()


def _prepared_statements(connection: sa.Connection) -> list[str]:
    return list(connection.execute(sa.text("select statement from pg_prepared_statements")).scalars())


def test_no_statement_is_kept_prepared_by_default() -> None:
    engine = _engine(statement_timeout=5, connect_timeout=5)
    try:
        with engine.connect() as connection:
            for n in range(8):  # psycopg's own default would prepare from the 6th run
                connection.execute(sa.text("select :n + 1"), {"n": n}).scalar()
            assert _prepared_statements(connection) == []
    finally:
        engine.dispose()


@pytest.mark.skipif(DRIVER != "psycopg", reason="DB_PREPARE_THRESHOLD is psycopg's")
def test_a_prepare_threshold_keeps_statements_prepared_on_a_direct_connection() -> None:
    engine = _engine(prepare_threshold=2, connect_timeout=5)
    try:
        with engine.connect() as connection:
            for n in range(4):
                assert connection.execute(sa.text("select :n * 2"), {"n": n}).scalar() == n * 2
            assert any("$1" in text for text in _prepared_statements(connection))
    finally:
        engine.dispose()


def test_connections_behind_pgbouncer_never_run_another_clients_statement(
    pooler: Pooler,
) -> None:
    url = pooler.url_for(PG_ADMIN_URL)
    engines = [_engine(url, statement_timeout=5, connect_timeout=5) for _ in range(2)]
    try:
        with engines[0].connect() as one, engines[1].connect() as two:
            for n in range(10):
                assert one.execute(sa.text("select :n + 1"), {"n": n}).scalar() == n + 1
                one.commit()
                assert two.execute(sa.text("select :n * 10"), {"n": n}).scalar() == n * 10
                two.commit()
    finally:
        for engine in engines:
            engine.dispose()


def test_a_database_error_is_logged_by_code_and_place_never_its_values() -> None:
    engine = _engine()
    email = f"private-{uuid.uuid4().hex[:8]}@example.com"
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("create temp table people (email text unique, n int)"))
            connection.execute(sa.text("insert into people values (:e, 1)"), {"e": email})
            with pytest.raises(sa.exc.IntegrityError) as duplicate:
                connection.execute(sa.text("insert into people values (:e, 2)"), {"e": email})
            assert email in str(duplicate.value.orig)  # the server's text does name it
            connection.rollback()
        cause = database_cause(duplicate.value)
        assert cause is not None
        assert cause["code"] == "23505"
        assert cause["constraint"] == "people_email_key"
        assert cause["table"] == "people"
        assert email not in repr(cause) and "private-" not in repr(cause)
    finally:
        engine.dispose()


@pytest.mark.skipif(DRIVER != "psycopg", reason="libpq's connection options")
def test_a_silent_server_is_noticed_by_tcp_keepalives() -> None:
    engine = _engine(connect_timeout=3)
    try:
        with engine.connect() as connection:
            options = connection.connection.dbapi_connection.info.get_parameters()
        assert options["keepalives"] == "1"
        assert (options["keepalives_idle"], options["tcp_user_timeout"]) == ("3", "6000")
    finally:
        engine.dispose()


def test_the_shop_engine_uses_the_connection_setup(database: str) -> None:
    from shop.db import get_engine

    engine = get_engine()
    with engine.connect() as connection:
        setting = connection.execute(
            sa.text(
                "select current_setting('statement_timeout')"
                if database in ("postgresql", "pgbouncer")
                else "select 'n/a'"
            )
        ).scalar()
    expected = "15s" if database in ("postgresql", "pgbouncer") else "n/a"
    assert setting == expected
