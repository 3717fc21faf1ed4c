"""The local console of `shopfn serve`: function warnings reach it readable and marked, with the
request's id; the JSON logs of AWS are untouched without it."""

from __future__ import annotations

import io
import json
import logging
import sys
import uuid
from collections.abc import Iterator

import pytest
from fastapi import APIRouter

from shop.http.app import create_app
from shop.http.handler import LOG_FORMAT_ENV, make_handler
from shop.logging import get_logger
from shopfn.apigw import build_event
from shopfn.console import QUIET_BELOW_WARNING, ConsoleFormatter, configure_console, log_request
from shopfn.gateway import invoke_handler
from shopfn.manifest import FunctionSpec


class _Terminal(io.StringIO):
    """A buffer that says it is a terminal, so the console colors what it writes."""

    def isatty(self) -> bool:
        return True


def _noisy_function(name: str) -> tuple[FunctionSpec, object]:
    router = APIRouter()

    @router.get("/noisy")
    def noisy() -> dict[str, bool]:
        get_logger().info("routine detail nobody needs locally")
        get_logger().warning("stock is running low")
        return {"ok": True}

    spec = FunctionSpec(name, "commerce", f"/{name}", f"{name}.handler.handler", 128, 5, "")
    return spec, make_handler(create_app(name, f"/{name}", [router]), name)


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """`shopfn serve`'s console logging, printing into a buffer as on a color terminal."""
    monkeypatch.setenv(LOG_FORMAT_ENV, "console")
    monkeypatch.delenv("NO_COLOR", raising=False)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    quieted = {name: logging.getLogger(name).level for name in QUIET_BELOW_WARNING}
    stream = _Terminal()
    configure_console(stream)
    try:
        yield stream
    finally:
        root.handlers, root.level = saved[0], saved[1]
        for name, level in quieted.items():
            logging.getLogger(name).setLevel(level)
        logging.captureWarnings(False)


def test_a_function_warning_stands_out_on_the_console_with_its_request_id(
    console: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"console{uuid.uuid4().hex[:8]}"
    spec, handler = _noisy_function(name)
    event = build_event(spec, "GET", f"/{name}/noisy", headers=[("x-request-id", "req-7")])
    assert invoke_handler(spec, handler, event)["statusCode"] == 200  # type: ignore[arg-type]
    lines = console.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert "\033[33;1mWARNING\033[0m" in lines[0]
    assert lines[0].endswith("stock is running low (request req-7)")
    assert "routine detail" not in console.getvalue()
    out = capsys.readouterr().out
    assert "_aws" not in out and "ColdStart" not in out  # no EMF metrics blob
    assert "{" not in out  # no JSON log line either


def test_the_console_takes_a_lower_case_log_level_as_powertools_does(
    console: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.http.handler import observability

    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "info")
    logger, _metrics, _tracer = observability(f"lower{uuid.uuid4().hex[:8]}")
    assert logger.log_level == logging.INFO
    assert [h.level for h in logger.handlers] == [logging.INFO]


def test_without_the_console_a_function_logs_json_as_in_aws(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LOG_FORMAT_ENV, raising=False)
    name = f"json{uuid.uuid4().hex[:8]}"
    spec, handler = _noisy_function(name)
    event = build_event(spec, "GET", f"/{name}/noisy", headers=[("x-request-id", "req-8")])
    assert invoke_handler(spec, handler, event)["statusCode"] == 200  # type: ignore[arg-type]
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    warning = next(line for line in lines if line.get("message") == "stock is running low")
    assert warning["level"] == "WARNING" and warning["request_id"] == "req-8"


def test_one_request_is_one_line_and_a_server_error_is_marked(console: io.StringIO) -> None:
    log_request("orders", "POST", "/orders", 201, 12.4)
    log_request("orders", "GET", "/orders/7", 502, 3.0)
    plain, failed = console.getvalue().splitlines()
    assert plain.endswith("orders   POST   /orders 201 12 ms")
    assert "\033[31;1m" not in plain and "WARNING" not in plain
    assert "\033[33;1mWARNING\033[0m access: orders   GET    /orders/7 502 3 ms" in failed


def test_an_error_shows_its_traceback_and_no_colors_off_a_terminal() -> None:
    try:
        raise ValueError("the disk is full")
    except ValueError:
        record = logging.LogRecord(
            "shopfn.gateway", logging.ERROR, __file__, 1, "boom", (), sys.exc_info()
        )
    text = ConsoleFormatter(color=False).format(record)
    assert text.split(" ", 1)[1].startswith("ERROR gateway: boom\nTraceback")
    assert "ValueError: the disk is full" in text and "\033[" not in text


def test_in_aws_the_console_setting_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from shop.http.handler import console_logging

    monkeypatch.setenv(LOG_FORMAT_ENV, "console")
    assert console_logging()
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shopfn-products")
    assert not console_logging()
