"""PostgreSQL connections with the same guarantees on any driver shopfn supports.

pg8000 (`postgresql+pg8000://`, the default: pure Python, 1.6 MiB in the Lambda layer) runs
through `shop.pg_pipeline` (one round trip per statement, on pg8000's internals) when it is
the version pg_pipeline was tested with (PIPELINE_PG8000); on any other version through
pg8000's public API alone, with a warning (and so with DB_PG8000_PIPELINE=false). psycopg 3
(`postgresql+psycopg://`, not installed in the Lambda layer) is configured here too: the
driver benchmark measures it against pg_pipeline (docs/architecture.md has the numbers).

Outside pg_pipeline (which keeps the same promises its own way), through public APIs only:
- Every statement is unnamed unless `prepare_threshold` says otherwise, so nothing outlives a
  statement on the server and a transaction pooler (PgBouncer in transaction mode, RDS Proxy)
  may hand each transaction to any backend. psycopg's `prepare_threshold=None`; pg8000 never
  prepares through SQLAlchemy.
- `statement_timeout` travels as `SET LOCAL` at the start of each transaction: it works behind
  PgBouncer (which drops startup options) and ends with the transaction. RDS Proxy may pin a
  session for any SET, so there the database role holds the timeout instead
  (`set_statement_timeout=False`, DB_STATEMENT_TIMEOUT_SCOPE=role).
- Opening a connection is bounded by `connect_timeout`; a connection whose server silently
  went away is dropped (psycopg: TCP keepalives and TCP_USER_TIMEOUT; pg8000: a socket
  timeout of the statement timeout plus the connect timeout, for connecting too), which
  SQLAlchemy sees as a disconnect and the API answers 503 (a pg8000 handshake's timeout too).
- Nothing is half-read: libpq (under psycopg) reads a statement's whole answer before any
  row is converted; a pg8000 connection that failed before reading all of an answer is
  taken for a disconnect, so SQLAlchemy closes it instead of reusing it.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine, event

#: The pg8000 release `shop.pg_pipeline` was written and tested against (pyproject.toml pins
#: it; `make test` also runs the database tests on the newest release, see the Makefile).
PIPELINE_PG8000 = "1.31.6"


def pipeline_supported() -> bool:
    """Whether the installed pg8000 is the one `shop.pg_pipeline` reaches into safely."""
    import pg8000

    return str(pg8000.__version__) == PIPELINE_PG8000


def _ceil_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _psycopg_options(
    *, prepare_threshold: int | None, connect_timeout: float | None, require_tls: bool
) -> dict[str, Any]:
    options: dict[str, Any] = {"prepare_threshold": prepare_threshold}
    if connect_timeout is not None:
        seconds = _ceil_seconds(connect_timeout)  # libpq counts whole seconds, at least 2
        # A server that stops answering (a failover, a frozen host) is noticed within about
        # twice the connect timeout of silence, not after the kernel's two hours.
        options.update(
            connect_timeout=seconds,
            keepalives=1,
            keepalives_idle=seconds,
            keepalives_interval=1,
            keepalives_count=seconds,
            tcp_user_timeout=2 * seconds * 1000,
        )
    if require_tls:
        options.update(sslmode="verify-full", sslrootcert="system")
    return options


def _tls() -> dict[str, Any]:
    import ssl

    return {"ssl_context": ssl.create_default_context()}


def _connect_with(engine: Engine, options: dict[str, Any]) -> None:
    """Pass `options` to the driver's connect (unless the URL or connect_args set them)."""

    def connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        for name, value in options.items():
            cparams.setdefault(name, value)

    event.listen(engine, "do_connect", connect)


def _connect_pg8000(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
    """pg8000's connection, with a timeout or reset during its handshake (which pg8000 lets
    through as a plain OSError) raised as its InterfaceError: SQLAlchemy's disconnect."""
    import pg8000

    try:
        return pg8000.connect(*cargs, **cparams)
    except OSError as exc:
        raise pg8000.InterfaceError(f"network error while connecting: {exc!r}") from exc


def _install_pipeline(engine: Engine, *, require_tls: bool, **options: Any) -> None:
    from shop import pg_pipeline  # one network round trip per statement

    if require_tls:
        _connect_with(engine, _tls())  # before pg_pipeline's listener, which connects
    pg_pipeline.install(engine, **options)


def _drop_pg8000_when_half_read(context: Any) -> None:
    """Discard a pg8000 connection that failed while reading an answer.

    pg8000 raises the server's own errors only after reading up to ReadyForQuery; anything
    else (a value its converters cannot read, a lost socket) leaves the rest of the answer
    unread, and the next statement would read it as its own. So the connection is closed.
    """
    import pg8000

    if not isinstance(context.original_exception, pg8000.DatabaseError):
        context.is_disconnect = True


def install(
    engine: Engine,
    *,
    prepare_threshold: int | None = None,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
    set_statement_timeout: bool = True,
    require_tls: bool = False,
    pg8000_pipeline: bool = True,
) -> None:
    """Give `engine` (postgresql+pg8000 or postgresql+psycopg) shopfn's connection guarantees.

    `prepare_threshold` (psycopg only): from the run after this many a statement is kept
    prepared on its connection; None never (the only safe choice behind a pooler).
    `statement_timeout` (seconds; None or 0: no limit) is set with SET LOCAL in every
    transaction unless `set_statement_timeout` is False (the database role holds it).
    `require_tls`: verify the server's certificate against the system's trusted ones.
    `pg8000_pipeline`: use `shop.pg_pipeline` on pg8000 if `pipeline_supported()`.
    """
    driver = engine.dialect.driver
    if driver == "pg8000" and pg8000_pipeline:
        if pipeline_supported():
            _install_pipeline(
                engine,
                prepare_threshold=prepare_threshold,
                connect_timeout=connect_timeout,
                statement_timeout=statement_timeout,
                set_statement_timeout=set_statement_timeout,
                require_tls=require_tls,
            )
            return
        import pg8000

        from shop.logging import get_logger

        get_logger().warning(
            "pg8000 %s is not the version shop.pg_pipeline was tested with (%s): using "
            "pg8000's own protocol instead (more round trips per statement, same guarantees)",
            pg8000.__version__,
            PIPELINE_PG8000,
        )
    if driver == "psycopg":
        _connect_with(
            engine,
            _psycopg_options(
                prepare_threshold=prepare_threshold,
                connect_timeout=connect_timeout,
                require_tls=require_tls,
            ),
        )
    else:
        # pg8000 has one socket timeout, for connecting and for every read: the longest an
        # answer may take (connecting waits as long; None without a statement timeout).
        read_timeout = statement_timeout + (connect_timeout or 0) if statement_timeout else None
        _connect_with(engine, {"timeout": read_timeout, **(_tls() if require_tls else {})})
        event.listen(engine, "do_connect", _connect_pg8000)  # after the options
        # Batch an INSERT of many rows into multi-row statements even without RETURNING:
        # pg8000's executemany is one statement, and one round trip, per row.
        engine.dialect.use_insertmanyvalues_wo_returning = True  # type: ignore[attr-defined]
        event.listen(engine, "handle_error", _drop_pg8000_when_half_read)
    if statement_timeout and set_statement_timeout:
        set_local = f"SET LOCAL statement_timeout = {max(1, round(statement_timeout * 1000))}"

        def begin(connection: Any) -> None:
            if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                connection.exec_driver_sql(set_local)  # outside a transaction it does nothing

        event.listen(engine, "begin", begin)
