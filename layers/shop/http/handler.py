"""Turn a function's FastAPI app into a Lambda handler: Mangum plus Powertools."""

from __future__ import annotations

import logging
import os
import re
import time
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from fastapi import FastAPI
from mangum import Mangum

from shop.http.middleware import adopt_request_id
from shop.logging import RequestIdFilter, request_id_var

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
_TRUTHY = ("1", "y", "yes", "t", "true", "on")  # as Powertools reads its boolean variables
#: `console` (set by `shopfn serve`, never in AWS): records go to the process's own logging.
LOG_FORMAT_ENV = "SHOPFN_LOG_FORMAT"


def console_logging() -> bool:
    """True when a local console, not a log collector, reads this process's logs."""
    in_aws = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
    return not in_aws and os.environ.get(LOG_FORMAT_ENV) == "console"


class _ToProcessLogging(logging.Handler):
    """Hands a function's records to the root logger, whose console formatter prints them."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger().handle(record)


def observability(service: str) -> tuple[Logger, Metrics, Tracer | None]:
    """Powertools Logger (JSON, request ids), Metrics (EMF) and Tracer for one function.

    Outside AWS the tracer is off (no X-Ray daemon), unless POWERTOOLS_TRACE_DISABLED says.
    Off means no Tracer at all (None): even a disabled one imports the X-Ray SDK and
    botocore, a quarter of a second of cold start.
    """
    in_aws = "AWS_LAMBDA_FUNCTION_NAME" in os.environ
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "false" if in_aws else "true")
    tracing = os.environ["POWERTOOLS_TRACE_DISABLED"].strip().lower() not in _TRUTHY
    if not in_aws:
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    # An invocation that records no business metric is normal here, not worth a warning.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    if console_logging():  # a person reads these: warnings and errors only, no JSON
        # Powertools accepts `info` as well as `INFO`; logging.Handler only the latter.
        level = os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING").strip().upper()
        logger = Logger(service=service, level=level, logger_handler=_ToProcessLogging(level))
    else:
        logger = Logger(service=service)
    # On the handlers, so every record they format gets the id, whichever logger wrote it.
    for log_handler in logger.handlers:
        log_handler.addFilter(RequestIdFilter())
    _route_shop_logs(logger)
    metrics = Metrics(
        namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "shopfn"), service=service
    )
    tracer = Tracer(service=service) if tracing else None
    return logger, metrics, tracer


#: The Powertools Logger of the function being invoked (several share a process locally).
_invoked_logger: ContextVar[Logger | None] = ContextVar("invoked_logger", default=None)


class _ToInvokedFunction(logging.Handler):
    """Sends `shop` records (services, error mapping) through the handlers of the function
    being invoked, so they carry its service name, Lambda context and request id."""

    def __init__(self, fallback: Logger) -> None:
        super().__init__()
        self.fallback = fallback

    def emit(self, record: logging.LogRecord) -> None:
        target = _invoked_logger.get() or self.fallback
        for log_handler in target.handlers:
            if record.levelno >= log_handler.level:
                log_handler.handle(record)


def _route_shop_logs(logger: Logger) -> None:
    shop = logging.getLogger("shop")
    if not any(isinstance(h, _ToInvokedFunction) for h in shop.handlers):
        shop.handlers = [_ToInvokedFunction(fallback=logger)]
        shop.propagate = False
        shop.setLevel(logger.log_level)


_HOST = re.compile(r"^[^:\s]*(:\d{1,5})?$")
_PORT = re.compile(r"^\d{1,5}$")


def _without_unparseable_server_headers(event: dict[str, Any]) -> dict[str, Any]:
    """The event minus a Host or X-Forwarded-Port that Mangum cannot parse.

    Mangum splits Host on ':' and int()s the port: `Host: [::1]:8001`, `Host: a:b` or
    `X-Forwarded-Port: x` would crash the function (a 502) instead of being ignored.
    """

    def parseable(name: str, value: Any) -> bool:
        values = value if isinstance(value, list) else [value]
        if name.lower() == "host":
            return all(isinstance(v, str) and _HOST.match(v) for v in values)
        if name.lower() == "x-forwarded-port":
            return all(isinstance(v, str) and _PORT.match(v) for v in values)
        return True

    cleaned = dict(event)
    for key in ("headers", "multiValueHeaders"):
        if cleaned.get(key):
            cleaned[key] = {k: v for k, v in cleaned[key].items() if parseable(k, v)}
    return cleaned


def is_scheduled_event(event: dict[str, Any]) -> bool:
    """True for EventBridge's scheduled-rule event (`detail-type: Scheduled Event`)."""
    return event.get("detail-type") == "Scheduled Event" and event.get("source") in (
        "aws.events",
        "aws.scheduler",
    )


def make_handler(app: FastAPI, service: str) -> LambdaHandler:
    """The Lambda entry point for `app`, decorated once per container."""
    logger, metrics, tracer = observability(service)
    asgi = Mangum(app, lifespan="off")

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        event, request_id = adopt_request_id(_without_unparseable_server_headers(event))
        token = request_id_var.set(request_id)
        invoked = _invoked_logger.set(logger)
        started = time.perf_counter()
        try:
            response = asgi(event, context)
            # DEBUG: a Powertools JSON line costs ~0.2 ms, too much for every request.
            logger.debug(
                "request served",
                extra={
                    "method": event.get("httpMethod"),
                    "path": event.get("path"),
                    "status": response.get("statusCode"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            _invoked_logger.reset(invoked)
            request_id_var.reset(token)

    # Outermost first: logger (request ids), tracer (when on), metrics (cold start; its EMF
    # blob is printed even with metrics disabled, so a console gets none).
    wrapped = metrics.log_metrics(handler, capture_cold_start_metric=not console_logging())
    if tracer is not None:
        wrapped = tracer.capture_lambda_handler(wrapped, capture_response=False)
    wrapped = logger.inject_lambda_context(
        wrapped, correlation_id_path=correlation_paths.API_GATEWAY_REST
    )
    return wrapped
