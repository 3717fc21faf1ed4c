"""ASGI middleware every function gets: request ids, body-size limit, hostile query strings."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shop.http.problems import problem_response
from shop.logging import request_id_var

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: API Gateway refuses request lines over 10 KiB; refuse the same locally and in tests.
MAX_QUERY_BYTES = 10 * 1024


def request_id_from(given: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a new one."""
    return given if given and _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


def adopt_request_id(event: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The API Gateway event with exactly one X-Request-ID header, and that id.

    The handler settles the id before the app runs, so the lines it logs around the app carry
    the same id the middleware echoes.
    """
    single = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "x-request-id"}
    given = next(
        (v for k, v in (event.get("headers") or {}).items() if k.lower() == "x-request-id"), None
    )
    request_id = request_id_from(given)
    event = {**event, "headers": {**single, "x-request-id": request_id}}
    if event.get("multiValueHeaders"):
        multi = {k: v for k, v in event["multiValueHeaders"].items() if k.lower() != "x-request-id"}
        event["multiValueHeaders"] = {**multi, "x-request-id": [request_id]}
    return event, request_id


class RequestContextMiddleware:
    """Echo or mint `X-Request-ID`, refuse bodies over the limit (413) and NULs in the URL."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = request_id_from(headers.get("x-request-id"))
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            refusal = await self._refusal(scope, headers)
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
                return
            body, too_large = await self._read_body(receive)
            if too_large:
                await problem_response(
                    413, f"The request body is larger than {self.max_body_bytes} bytes."
                )(scope, receive, send_with_id)
                return
            await self.app(scope, _replay(body), send_with_id)
        finally:
            request_id_var.reset(token)

    async def _refusal(self, scope: Scope, headers: dict[str, str]) -> Any:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            return problem_response(
                413, f"The request body is larger than {self.max_body_bytes} bytes."
            )
        query: bytes = scope.get("query_string", b"")
        if len(query) > MAX_QUERY_BYTES:
            return problem_response(414, "The query string is too long.")
        if b"%00" in query.lower() or b"\x00" in query or "\x00" in scope.get("path", ""):
            return problem_response(422, "NUL characters are not allowed in the URL.")
        return None

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", True
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
