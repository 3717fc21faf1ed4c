"""Logging shared by services: one stdlib logger that the function's Powertools Logger formats."""

from __future__ import annotations

import logging
from contextvars import ContextVar

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
