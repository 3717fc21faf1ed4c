"""The local API Gateway: HTTP in, a Lambda proxy event to the function's handler, HTTP out."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shopfn.apigw import ProxyResponse, build_event
from shopfn.lambda_context import LocalLambdaContext
from shopfn.loader import Handler, load_handler
from shopfn.manifest import Api, FunctionSpec, Manifest

#: API Gateway's own payload limit; the functions enforce the API's 1 MiB.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
#: API Gateway's limit on the request line plus headers: it answers longer requests itself.
MAX_REQUEST_HEAD_BYTES = 10 * 1024


def _problem(status: int, title: str, detail: str) -> ProxyResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return ProxyResponse(
        status=status,
        headers=[("content-type", "application/problem+json")],
        body=json.dumps(body).encode(),
    )


def _oversized_head(scope: dict[str, Any]) -> ProxyResponse | None:
    """414 or 431 as API Gateway answers, before a 10 MB query string costs seconds to parse."""
    url = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    if url > MAX_REQUEST_HEAD_BYTES:
        return _problem(
            414, "URI Too Long", f"The URL is longer than {MAX_REQUEST_HEAD_BYTES} bytes."
        )
    head = url + sum(len(name) + len(value) for name, value in scope["headers"])
    if head > MAX_REQUEST_HEAD_BYTES:
        return _problem(
            431,
            "Request Header Fields Too Large",
            f"The URL and headers together are longer than {MAX_REQUEST_HEAD_BYTES} bytes.",
        )
    return None


_thread_loops: list[asyncio.AbstractEventLoop] = []


def _ensure_event_loop() -> None:
    # Mangum drives the app on the thread's event loop; pool threads start without one.
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        loop = asyncio.new_event_loop()
        _thread_loops.append(loop)
        asyncio.set_event_loop(loop)


def close_thread_loops() -> None:
    """Close the pool threads' event loops (left to the garbage collector at exit, closing
    them prints 'Bad file descriptor' tracebacks after a clean stop)."""
    while _thread_loops:
        loop = _thread_loops.pop()
        if not loop.is_running():
            loop.close()


def invoke(spec: FunctionSpec, event: dict[str, Any]) -> dict[str, Any]:
    """Call the function's handler with `event` as Lambda would (in this thread)."""
    return invoke_handler(spec, load_handler(spec), event)


def invoke_handler(spec: FunctionSpec, handler: Handler, event: dict[str, Any]) -> dict[str, Any]:
    """Call `handler` as `spec`'s Lambda with a fresh context (in this thread)."""
    _ensure_event_loop()
    context = LocalLambdaContext(
        function_name=f"shopfn-{spec.name}",
        memory_limit_in_mb=spec.memory,
        timeout_seconds=spec.timeout,
    )
    return handler(event, context)


class Gateway:
    """An ASGI app serving one API (commerce or ml) by invoking its functions' handlers."""

    def __init__(
        self,
        manifest: Manifest,
        api: Api,
        executor: ThreadPoolExecutor,
        *,
        access_log: bool = False,
    ) -> None:
        self.manifest = manifest
        self.api = api
        self.executor = executor
        self.access_log = access_log  # one console line per request (shopfn.console)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        response = await self._handle(scope, receive)
        if self.access_log:
            self._log(scope, response.status, (time.perf_counter() - started) * 1000)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    def _log(self, scope: dict[str, Any], status: int, milliseconds: float) -> None:
        from shopfn.console import log_request

        spec = self.manifest.route(self.api, scope["path"])
        function = spec.name if spec is not None else "-"
        log_request(function, scope["method"], scope["path"], status, milliseconds)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: dict[str, Any], receive: Any) -> ProxyResponse:
        path: str = scope["path"]
        spec = self.manifest.route(self.api, path)
        if spec is None:
            return _problem(404, "Not Found", f"No function serves {path} on the {self.api} API.")
        refusal = _oversized_head(scope)
        if refusal is not None:
            return refusal
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if len(body) > MAX_PAYLOAD_BYTES:
                return _problem(413, "Content Too Large", "The request body is too large.")
            if not message.get("more_body"):
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        client = scope.get("client") or ("127.0.0.1", 0)
        event = build_event(
            spec,
            scope["method"],
            path,
            headers=headers,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            body=bytes(body),
            source_ip=client[0],
        )
        loop = asyncio.get_running_loop()
        try:
            result = await asyncio.wait_for(
                loop.run_in_executor(self.executor, invoke, spec, event), timeout=spec.timeout
            )
        except TimeoutError:
            return _problem(504, "Gateway Timeout", f"{spec.name} did not answer in time.")
        except Exception:  # the function crashed, as a Lambda error: API Gateway answers 502
            import logging

            logging.getLogger("shopfn.gateway").exception("function %s failed", spec.name)
            return _problem(502, "Bad Gateway", f"The {spec.name} function failed.")
        return ProxyResponse.from_lambda(result)
