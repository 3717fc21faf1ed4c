"""Engine and sessions: created lazily, once per process, reused across Lambda invocations."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError

from shop.settings import get_settings

if TYPE_CHECKING:  # the ORM loads with the first session: a health check's `ping` needs none
    from sqlalchemy.orm import Session, sessionmaker

_lock = threading.Lock()
_engine: Engine | None = None
_sessions: sessionmaker[Session] | None = None


def _database_url_from_secret(secret_arn: str) -> str:
    """Build a pg8000 URL from an RDS-style Secrets Manager secret (AWS only)."""
    import json

    from sqlalchemy.engine import URL

    from shop.secret_values import secret_string

    secret = json.loads(secret_string(secret_arn))
    return URL.create(
        "postgresql+pg8000",
        username=secret["username"],
        password=secret["password"],
        host=secret.get("proxy_host") or secret["host"],
        port=int(secret.get("port", 5432)),
        database=secret.get("dbname", "shopfn"),
    ).render_as_string(hide_password=False)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's own lower() folds ASCII only; case-insensitive search (ilike) needs all of Unicode.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: A pooled connection idle for longer than this is pinged before reuse: a frozen Lambda's
#: connection may be gone (proxy idle timeout, failover). One reused back to back is not, so
#: a request that commits twice, or the next request in a busy container, skips the round trip.
PING_AFTER_IDLE_SECONDS = 2.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["idle_since"] = time.monotonic()


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle a while."""

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # any driver error means this connection is unusable
            raise DisconnectionError("pooled connection did not answer a ping") from exc
        if not alive:
            raise DisconnectionError("pooled connection did not answer a ping")

    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", ping)


def _private_sqlite_file(path: str) -> None:
    """Create the database file readable by its owner only, and tighten an older one.

    It holds password hashes, addresses and chats. SQLite creates the -wal and -shm files
    with the database file's mode, so those follow.
    """
    import contextlib
    import os
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm"):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)


def _sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL; None for an in-memory database (`sqlite://`, `:memory:`)."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # file: is a SQLite URI (uri=true), left to SQLite as written
    return database


def build_engine(url: str, *, require_tls: bool = False) -> Engine:
    """An engine for `url` with the pool and pragmas shopfn expects on each backend.

    `require_tls`: verify the server's certificate (RDS Proxy accepts TLS connections only).
    """
    settings = get_settings()
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 10}}
        path = _sqlite_file(url)
        if path is not None:
            _private_sqlite_file(path)
    else:
        kwargs.update(pool_size=settings.db_pool_size, max_overflow=10, pool_recycle=1800)
    # hide_parameters: a failed statement's log line and exception text name the statement
    # only, never its values (password hashes, e-mail addresses, chat text).
    engine = create_engine(url, hide_parameters=True, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        _ping_when_idle(engine)
    if engine.dialect.name == "postgresql" and engine.dialect.driver in ("pg8000", "psycopg"):
        from shop import postgres  # timeouts, TLS, pooler safety: the drivers shopfn supports

        postgres.install(
            engine,
            prepare_threshold=settings.db_prepare_threshold or None,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
            set_statement_timeout=settings.db_statement_timeout_scope == "transaction",
            require_tls=require_tls,
            pg8000_pipeline=settings.db_pg8000_pipeline,
        )
    return engine


def get_engine() -> Engine:
    """The process-wide engine (no connection is opened until first use)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                settings = get_settings()
                url = settings.resolved_database_url
                secret_arn = None if settings.database_url else settings.database_secret_arn
                if secret_arn:
                    url = _database_url_from_secret(secret_arn)
                _engine = build_engine(url, require_tls=bool(secret_arn))
    return _engine


def new_session() -> Session:
    """A new ORM session on the shared engine; callers commit, closing rolls back the rest."""
    global _sessions
    engine = get_engine()
    if _sessions is None:
        from sqlalchemy.orm import sessionmaker

        with _lock:
            if _sessions is None:
                _sessions = sessionmaker(engine, expire_on_commit=False)
    return _sessions()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for scripts and jobs: committed on success, rolled back on error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping() -> bool:
    """True when the database answers `SELECT 1`."""
    try:
        with get_engine().connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # any driver or network failure means "not reachable"
        return False


def reset_engine() -> None:
    """Dispose the engine so the next use reconnects with current settings (tests, CLI)."""
    global _engine, _sessions
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine = None
        _sessions = None


#: The tables bulk loads write (`shopfn import transactions`, `shopfn simulate`).
HISTORY_TABLES = ("users", "orders", "order_items", "order_status_changes", "behavior_events")


def refresh_statistics(tables: tuple[str, ...] = HISTORY_TABLES) -> None:
    """After a bulk load, PostgreSQL's planner statistics for `tables`, in their own transaction.

    Until autovacuum gets to it (never, where it is off), the planner still sees the tables
    as they were before the load and picks plans that read them whole: the retrain check's
    drift sample took 2 s instead of 30 ms on a freshly simulated shop. SQLite and MariaDB
    need nothing here (MariaDB recounts by itself; SQLite plans well without statistics).
    """
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        connection.execute(text(f"ANALYZE {', '.join(quote(t) for t in tables)}"))
