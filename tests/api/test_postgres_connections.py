"""PostgreSQL connections as `shop.postgres` sets them up, on each way shopfn can connect:
pg8000 through `shop.pg_pipeline` (the default), pg8000 through its public API alone (another
pg8000 version, or DB_PG8000_PIPELINE=false) and psycopg 3. The same promises on each:
statement timeouts, connect timeouts, nothing half-read, no named prepared statements behind
a pooler, and database errors logged by code and place, never by the server's text.

Runs against the PostgreSQL server of the suite, and through the session's PgBouncer.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from pgbouncer import Pooler
from sqlalchemy.engine import make_url
from support import PG_ADMIN_URL

from shop import postgres
from shop.logging import database_cause

#: Each way to connect: (URL scheme, `pg8000_pipeline`).
SETUPS = {
    "pg_pipeline": ("postgresql+pg8000", True),
    "pg8000": ("postgresql+pg8000", False),
    "psycopg": ("postgresql+psycopg", True),
}
Connect = Callable[..., sa.Engine]


@pytest.fixture(params=list(SETUPS))
def setup(request: pytest.FixtureRequest) -> str:
    if request.param == "pg_pipeline" and not postgres.pipeline_supported():
        pytest.skip(f"pg_pipeline runs on pg8000 {postgres.PIPELINE_PG8000} only")
    return str(request.param)


@pytest.fixture
def connect(setup: str) -> Connect:
    """Makes one-connection engines set up the `setup` way, on the test server or `url`."""
    scheme, pipeline = SETUPS[setup]

    def build(url: str = PG_ADMIN_URL, **options: Any) -> sa.Engine:
        target = make_url(url).set(drivername=scheme)
        engine = sa.create_engine(target, pool_size=1, max_overflow=0)
        postgres.install(engine, pg8000_pipeline=pipeline, **options)
        return engine

    return build


@pytest.fixture(params=["direct", "pgbouncer"])
def url(request: pytest.FixtureRequest) -> str:
    """The test server directly, or through PgBouncer in transaction mode."""
    if request.param == "direct":
        return PG_ADMIN_URL
    pooler: Pooler = request.getfixturevalue("pooler")
    return pooler.url_for(PG_ADMIN_URL)


@pytest.fixture
def engine(url: str, connect: Connect) -> Iterator[sa.Engine]:
    built = connect(url, statement_timeout=0.3, connect_timeout=5)
    yield built
    built.dispose()


def _driver_of(engine: sa.Engine) -> Any:
    with engine.connect() as connection:
        return type(connection.connection.dbapi_connection)


def _pipelined(driver: type) -> bool:
    """Whether `driver` is pg_pipeline's connection (told without importing pg_pipeline,
    which a pg8000 other than its own cannot import)."""
    return any(c.__module__ == "shop.pg_pipeline" for c in driver.__mro__)


def test_each_setup_connects_with_its_driver(connect: Connect, setup: str) -> None:
    engine = connect()
    try:
        driver = _driver_of(engine)
    finally:
        engine.dispose()
    assert _pipelined(driver) == (setup == "pg_pipeline")
    base = next(c for c in driver.__mro__ if not c.__module__.startswith("shop"))
    assert base.__module__.split(".")[0] == ("psycopg" if setup == "psycopg" else "pg8000")


def _sqlstate(error: sa.exc.DBAPIError) -> str | None:
    cause = database_cause(error)
    assert cause is not None
    return cause.get("code")


def test_the_statement_timeout_cancels_a_statement_and_the_connection_stays_usable(
    engine: sa.Engine, url: str
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
    if url == PG_ADMIN_URL:  # directly, the same server connection serves on
        with engine.connect() as connection:
            assert connection.execute(sa.text("select pg_backend_pid()")).scalar() == pid


def test_the_statement_timeout_never_outlives_its_transaction(url: str, connect: Connect) -> None:
    timed = connect(url, statement_timeout=0.3, connect_timeout=5)
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


def test_with_the_timeout_on_the_role_no_transaction_sends_a_set(
    url: str, connect: Connect
) -> None:
    engine = connect(url, statement_timeout=0.3, connect_timeout=5, set_statement_timeout=False)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("show statement_timeout")).scalar() == "0"
    finally:
        engine.dispose()


def test_a_server_that_never_answers_fails_the_connect_within_the_timeout(
    connect: Connect,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never speaks
        port = silent.getsockname()[1]
        silent_url = make_url(PG_ADMIN_URL).set(port=port).render_as_string(False)
        # psycopg waits the connect timeout (libpq: whole seconds, at least 2), pg_pipeline
        # too; plain pg8000 the statement timeout plus the connect timeout (its one timeout).
        engine = connect(silent_url, connect_timeout=0.3, statement_timeout=1)
        started = time.monotonic()
        with pytest.raises(sa.exc.DBAPIError):
            engine.connect()
        assert time.monotonic() - started < 4
        engine.dispose()


def _failing_reader(connection: Any) -> None:
    """Make the driver fail to read the integer 3 on this connection (a broken converter)."""
    if type(connection).__module__.startswith("psycopg"):
        from psycopg.types.numeric import IntLoader

        class Failing(IntLoader):
            def load(self, data: Any) -> int:
                if bytes(data) == b"3":
                    raise ValueError("cannot read 3")
                return int(super().load(data))

        connection.adapters.register_loader("int4", Failing)
        return

    def adapt(text: str) -> int:
        if text == "3":
            raise ValueError("cannot read 3")
        return int(text)

    connection.register_in_adapter(23, adapt)  # int4, pg8000's public converter hook


def test_a_failure_while_reading_rows_leaves_nothing_for_the_next_statement(
    url: str, connect: Connect
) -> None:
    engine = connect(url)
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
    statements = connection.execute(sa.text("select statement from pg_prepared_statements"))
    return list(statements.scalars())


def test_no_statement_is_kept_prepared_by_default(connect: Connect) -> None:
    engine = connect(statement_timeout=5, connect_timeout=5)
    try:
        with engine.connect() as connection:
            for n in range(8):  # psycopg's own default would prepare from the 6th run
                connection.execute(sa.text("select :n + 1"), {"n": n}).scalar()
            assert _prepared_statements(connection) == []
    finally:
        engine.dispose()


@pytest.mark.parametrize("setup", ["pg_pipeline", "psycopg"], indirect=True)
def test_a_prepare_threshold_keeps_statements_prepared_on_a_direct_connection(
    connect: Connect,
) -> None:
    engine = connect(prepare_threshold=2, connect_timeout=5)
    try:
        with engine.connect() as connection:
            for n in range(4):
                assert connection.execute(sa.text("select :n * 2"), {"n": n}).scalar() == n * 2
            assert any("$1" in text for text in _prepared_statements(connection))
    finally:
        engine.dispose()


def test_connections_behind_pgbouncer_never_run_another_clients_statement(
    pooler: Pooler, connect: Connect
) -> None:
    url = pooler.url_for(PG_ADMIN_URL)
    engines = [connect(url, statement_timeout=5, connect_timeout=5) for _ in range(2)]
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


def test_a_database_error_is_logged_by_code_and_place_never_its_values(connect: Connect) -> None:
    engine = connect()
    email = f"private-{uuid.uuid4().hex[:8]}@example.com"
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("create temp table people (email text unique, n int)"))
            connection.execute(sa.text("insert into people values (:e, 1)"), {"e": email})
            with pytest.raises(sa.exc.IntegrityError) as duplicate:
                connection.execute(sa.text("insert into people values (:e, 2)"), {"e": email})
            connection.rollback()
        assert email in str(duplicate.value.orig)  # the server's own text does quote it
        cause = database_cause(duplicate.value)
        assert cause is not None
        assert (cause["code"], cause["constraint"], cause["table"]) == (
            "23505",
            "people_email_key",
            "people",
        )
        assert "private-" not in repr(cause)
    finally:
        engine.dispose()


@pytest.mark.parametrize("setup", ["psycopg"], indirect=True)
def test_a_silent_server_is_noticed_by_tcp_keepalives(connect: Connect) -> None:
    engine = connect(connect_timeout=3)
    try:
        with engine.connect() as connection:
            options = connection.connection.dbapi_connection.info.get_parameters()
        assert options["keepalives"] == "1"
        assert (options["keepalives_idle"], options["tcp_user_timeout"]) == ("3", "6000")
    finally:
        engine.dispose()


def _pg8000_engine() -> sa.Engine:
    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+pg8000")
    return sa.create_engine(url, pool_size=1, max_overflow=0)


def test_another_pg8000_version_falls_back_to_its_public_api_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import pg8000

    monkeypatch.setattr(pg8000, "__version__", "1.99.0")
    engine = _pg8000_engine()
    with caplog.at_level(logging.WARNING, logger="shop"):
        postgres.install(engine, statement_timeout=0.3, connect_timeout=5)
    try:
        assert not _pipelined(_driver_of(engine))
        with engine.connect() as connection:  # and the statement timeout still holds
            assert connection.execute(sa.text("show statement_timeout")).scalar() == "300ms"
    finally:
        engine.dispose()
    (warning,) = [r for r in caplog.records if "pg_pipeline" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert "1.99.0" in warning.getMessage() and postgres.PIPELINE_PG8000 in warning.getMessage()


def test_db_pg8000_pipeline_false_turns_the_pipeline_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shop.db import build_engine
    from shop.settings import get_settings

    url = make_url(PG_ADMIN_URL).set(drivername="postgresql+pg8000").render_as_string(False)
    engines = {}
    for value in ("true", "false"):
        monkeypatch.setenv("DB_PG8000_PIPELINE", value)
        get_settings.cache_clear()
        engines[value] = build_engine(url)
    get_settings.cache_clear()
    try:
        drivers = {value: _driver_of(engine) for value, engine in engines.items()}
    finally:
        for engine in engines.values():
            engine.dispose()
    assert _pipelined(drivers["true"]) == postgres.pipeline_supported()
    assert not _pipelined(drivers["false"])


def test_tls_when_required_never_falls_back_to_plain_text(connect: Connect) -> None:
    engine = connect(require_tls=True, connect_timeout=3)  # the test server has no TLS
    try:
        with pytest.raises(sa.exc.DBAPIError) as refused:
            engine.connect()
        assert "SSL" in str(refused.value.orig) or "ssl" in str(refused.value.orig)
    finally:
        engine.dispose()
