"""The readable console of `shopfn serve`: one line per request, warnings and errors that stand out.

`--log-format console` (the default) sets LOG_FORMAT_ENV to `console` before any function is
loaded: the Lambda handlers then keep Powertools quiet below WARNING, publish no metrics and
hand their records to this process's logging, formatted here. `--log-format json` leaves
everything as in AWS: Powertools JSON logs and metrics on stdout.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from shop.http.handler import LOG_FORMAT_ENV

#: Loggers whose INFO lines only repeat what the startup block says, or say nothing useful.
QUIET_BELOW_WARNING = ("alembic", "mangum", "uvicorn", "uvicorn.error", "uvicorn.access")
_COLORS = {logging.WARNING: "\033[33;1m", logging.ERROR: "\033[31;1m"}
_DIM, _RESET = "\033[2m", "\033[0m"

access_log = logging.getLogger("shopfn.access")


def use_color(stream: TextIO) -> bool:
    """Colors on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


class ConsoleFormatter(logging.Formatter):
    """`HH:MM:SS message`; warnings and errors get a (colored) level prefix and request id."""

    def __init__(self, color: bool) -> None:
        super().__init__()
        self.color = color

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        if self.color:
            stamp = f"{_DIM}{stamp}{_RESET}"
        message = record.getMessage()
        if record.levelno >= logging.WARNING:
            level = "ERROR" if record.levelno >= logging.ERROR else "WARNING"
            if self.color:
                level = f"{_COLORS[min(record.levelno, logging.ERROR)]}{level}{_RESET}"
            source = record.name.removeprefix("shopfn.")
            request_id = getattr(record, "request_id", None)
            message = f"{level} {source}: {message}" + (
                f" (request {request_id})" if request_id else ""
            )
        elif record.name != access_log.name:
            message = f"{record.name.removeprefix('shopfn.')}: {message}"
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return f"{stamp} {message}"


def configure_console(stream: TextIO | None = None) -> None:
    """Console logging for this process and the functions it will load (call before loading)."""
    stream = stream or sys.stderr
    os.environ[LOG_FORMAT_ENV] = "console"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ConsoleFormatter(color=use_color(stream)))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    for name in QUIET_BELOW_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)  # Python warnings as WARNING lines, not raw stderr


def log_request(function: str, method: str, path: str, status: int, milliseconds: float) -> None:
    """The one line of a served request: function, method, path, status, milliseconds.

    A 5xx is a WARNING, so it stands out among the others."""
    level = logging.WARNING if status >= 500 else logging.INFO
    access_log.log(
        level,
        "%-8s %-6s %s %d %.0f ms",
        function,
        method,
        path,
        status,
        milliseconds,
    )


def _bold(text: str, color: bool) -> str:
    return f"\033[1m{text}{_RESET}" if color else text


def admin_hint(data_dir: Path, admin_email: str | None, from_environment: bool) -> str:
    """Where the admin's credentials are, in the words of the startup block."""
    credentials = (data_dir / "admin-credentials.txt").resolve()
    if from_environment:
        return f"{admin_email} (password from ADMIN_PASSWORD)"
    if credentials.exists():
        return f"e-mail and password in {credentials}"
    return "the existing admin account (`shopfn create-admin` sets a new password)"


def startup_block(rows: list[tuple[str, str]], stream: TextIO | None = None) -> None:
    """The one block `shopfn serve` prints once it listens: where everything is."""
    stream = stream or sys.stderr
    color = use_color(stream)
    width = max(len(name) for name, _ in rows)
    lines = [_bold("shopfn is running (Ctrl-C stops it)", color)]
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    lines.append("One line per request: time (UTC), function, method, path, status, milliseconds.")
    stream.write("\n".join(lines) + "\n")
    stream.flush()
