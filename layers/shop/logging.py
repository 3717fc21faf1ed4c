"""Logging shared by services: one stdlib logger that the function's Powertools Logger formats."""

from __future__ import annotations

import logging
import traceback
from contextvars import ContextVar
from typing import Any

#: The X-Request-ID of the request being served; stamped on every log record.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to each record so every line of a request can be found together."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = request_id_var.get()
        if request_id is not None:
            record.request_id = request_id
        return True


def get_logger() -> logging.Logger:
    """The `shop` logger used by services (configured by the function's Powertools Logger)."""
    return logging.getLogger("shop")


def database_cause(exc: BaseException) -> dict[str, Any] | None:
    """What a database failure's log line says about it, without the data it was about;
    None when `exc` is not a database error.

    The engine hides statement parameters, but a server's own message can quote them:
    PostgreSQL's `invalid input syntax for type integer: "<value>"` or its detail
    `Key (email)=(<address>) already exists`, MariaDB's `Duplicate entry '<value>'`. So a
    server error is told by its code (SQLSTATE, or MariaDB's number) and the constraint,
    table and column it names, whatever the driver (pg8000's field dict, psycopg's `diag`,
    a MySQL driver's `(number, message)`); only an error without a server code (a lost
    connection, a timeout, SQLite's) keeps its text. The statement's text carries no values.
    """
    orig = getattr(exc, "orig", None)  # SQLAlchemy's wrapper of the driver's error
    error = orig if orig is not None else exc
    server = _server_fields(error)
    if orig is None and server is None:
        return None
    cause: dict[str, Any] = {"error": type(error).__name__}
    if server is not None:
        cause.update(server)
    else:
        cause["message"] = str(error)[:500]
    statement = getattr(exc, "statement", None)
    if statement:
        cause["statement"] = " ".join(str(statement).split())[:500]
    return cause


def _server_fields(error: BaseException) -> dict[str, Any] | None:
    """The code and names a database server sent with `error`, never its message or detail;
    None when the server sent none (the driver's own error)."""
    args: tuple[Any, ...] = getattr(error, "args", ())
    if args and isinstance(args[0], dict) and "C" in args[0]:  # pg8000: the server's fields
        fields = {"C": "code", "n": "constraint", "t": "table", "c": "column"}
        return {name: args[0][key] for key, name in fields.items() if key in args[0]}
    if len(args) == 2 and isinstance(args[0], int):  # MySQL drivers: (number, message)
        return {"code": args[0]}
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)  # psycopg 3, 2
    if code:
        diag = getattr(error, "diag", None)
        names = {"constraint": "constraint_name", "table": "table_name", "column": "column_name"}
        found = {name: getattr(diag, attr, None) for name, attr in names.items()}
        return {"code": code, **{name: value for name, value in found.items() if value}}
    return None


def failure_reason(exc: BaseException) -> str:
    """A failure in one line for people (a run's `reason`), without a database's message."""
    cause = database_cause(exc)
    if cause is None:
        return f"{type(exc).__name__}: {exc}"
    code = cause.get("code")
    return f"{cause['error']} from the database" + (f" (code {code})" if code else "")


def log_failure(log: logging.Logger, message: str, exc: BaseException, **extra: Any) -> None:
    """Log `exc` as an error: a database error by `database_cause` and the place in our code
    it came from (no message, no traceback text that could quote one); anything else with
    its traceback."""
    cause = database_cause(exc)
    if cause is None:
        log.error(message, exc_info=exc, extra=extra)
        return
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if "site-packages" not in f.filename
    ]
    if frames:
        cause["where"] = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}"
    log.error(message, extra={**extra, "database_error": cause})
