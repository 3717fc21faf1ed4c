"""PostgreSQL connections with the same guarantees on either driver, through public APIs only.

psycopg 3 (`postgresql+psycopg://`, the default) or pg8000 (`postgresql+pg8000://`):
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
  SQLAlchemy sees as a disconnect and the API answers 503.
- Nothing is half-read: libpq (under psycopg) reads a statement's whole answer before any
  row is converted, and a pg8000 connection that failed mid-read is closed by pg8000 and
  discarded by SQLAlchemy.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Engine, event


def _ceil_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _psycopg_params(
    cparams: dict[str, Any],
    *,
    prepare_threshold: int | None,
    connect_timeout: float | None,
    require_tls: bool,
) -> None:
    cparams["prepare_threshold"] = prepare_threshold
    if connect_timeout is not None:
        # libpq counts whole seconds, at least 2.
        seconds = _ceil_seconds(connect_timeout)
        cparams.setdefault("connect_timeout", seconds)
        # A server that stops answering (a failover, a frozen host) is noticed within about
        # twice the connect timeout of silence, not after the kernel's two hours.
        cparams.setdefault("keepalives", 1)
        cparams.setdefault("keepalives_idle", seconds)
        cparams.setdefault("keepalives_interval", 1)
        cparams.setdefault("keepalives_count", seconds)
        cparams.setdefault("tcp_user_timeout", 2 * seconds * 1000)
    if require_tls:
        cparams.setdefault("sslmode", "verify-full")
        cparams.setdefault("sslrootcert", "system")


def _pg8000_params(
    cparams: dict[str, Any], *, read_timeout: float | None, require_tls: bool
) -> None:
    if require_tls:
        import ssl

        cparams.setdefault("ssl_context", ssl.create_default_context())
    # pg8000 has one socket timeout, for connecting and for every read: the longest an
    # answer may take (connecting waits at most that too; None without a statement timeout).
    cparams.setdefault("timeout", read_timeout)


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
) -> None:
    """Give `engine` (postgresql+psycopg or postgresql+pg8000) shopfn's connection guarantees.

    `prepare_threshold` (psycopg only): from the run after this many a statement is kept
    prepared on its connection; None never (the only safe choice behind a pooler).
    `statement_timeout` (seconds; None or 0: no limit) is set with SET LOCAL in every
    transaction unless `set_statement_timeout` is False (the database role holds it).
    `require_tls`: verify the server's certificate against the system's trusted ones.
    """
    driver = engine.dialect.driver
    read_timeout = None
    if statement_timeout:
        read_timeout = statement_timeout + (connect_timeout or 0)
    if driver == "pg8000":
        # Batch an INSERT of many rows into multi-row statements even without RETURNING:
        # pg8000's executemany is one statement, and one round trip, per row.
        engine.dialect.use_insertmanyvalues_wo_returning = True  # type: ignore[attr-defined]

    def connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        if driver == "psycopg":
            _psycopg_params(
                cparams,
                prepare_threshold=prepare_threshold,
                connect_timeout=connect_timeout,
                require_tls=require_tls,
            )
        else:
            _pg8000_params(cparams, read_timeout=read_timeout, require_tls=require_tls)

    event.listen(engine, "do_connect", connect)
    if driver == "pg8000":
        event.listen(engine, "handle_error", _drop_pg8000_when_half_read)
    if statement_timeout and set_statement_timeout:
        set_local = f"SET LOCAL statement_timeout = {max(1, round(statement_timeout * 1000))}"

        def begin(connection: Any) -> None:
            connection.exec_driver_sql(set_local)

        event.listen(engine, "begin", begin)
