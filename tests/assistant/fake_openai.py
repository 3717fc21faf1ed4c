"""A scriptable OpenAI-compatible Chat Completions server on 127.0.0.1, for tests.

Tests queue what the "model" does next (a plain reply, tool calls, malformed arguments, a
slow answer, a 500, a 429, or any function of the request) and read back every request the
real `openai` client sent. Nothing leaves the machine.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from servers import ThreadedFake

Request = dict[str, Any]


@dataclass
class Answer:
    """What the fake sends back for one request."""

    status: int = 200
    body: dict[str, Any] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Step = Callable[[Request], Answer]
_ids = itertools.count(1)


def completion(request: Request, message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    """A Chat Completions response body carrying `message`."""
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "gpt-4o"),
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
    }


def reply(text: str | Callable[[Request], str]) -> Step:
    """The model answers with `text` (or with what `text(request)` returns)."""

    def step(request: Request) -> Answer:
        content = text(request) if callable(text) else text
        message = {"role": "assistant", "content": content, "refusal": None}
        return Answer(body=completion(request, message, "stop"))

    return step


def tool_calls(*calls: tuple[str, dict[str, Any] | str]) -> Step:
    """The model calls these tools (arguments as a dict, or a raw string, even broken JSON)."""

    def step(request: Request) -> Answer:
        message = {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "tool_calls": [
                {
                    "id": f"call_{next(_ids)}",
                    "type": "function",
                    "function": {
                        "name": name,
                        "arguments": args if isinstance(args, str) else json.dumps(args),
                    },
                }
                for name, args in calls
            ],
        }
        return Answer(body=completion(request, message, "tool_calls"))

    return step


def tool_call(name: str, arguments: dict[str, Any] | str | None = None) -> Step:
    return tool_calls((name, {} if arguments is None else arguments))


def error(status: int, *, headers: dict[str, str] | None = None) -> Step:
    """An upstream error such as 500 or 429 (with headers like Retry-After)."""

    def step(_request: Request) -> Answer:
        body = {"error": {"message": f"fake upstream error {status}", "type": "server_error"}}
        return Answer(status=status, body=body, headers=headers or {})

    return step


def slow(seconds: float, then: Step) -> Step:
    """`then`, but only after `seconds` (long enough for the client to give up)."""

    def step(request: Request) -> Answer:
        answer = then(request)
        answer.delay = seconds
        return answer

    return step


def garbage() -> Step:
    """A 200 whose body is not a completion at all."""
    return lambda _request: Answer(body="this is not json")


def last_tool_result(request: Request) -> str:
    """The content of the last tool message the client sent (for echoing models)."""
    tools = [m for m in request["messages"] if m.get("role") == "tool"]
    return tools[-1]["content"] if tools else ""


def system_prompt(request: Request) -> str:
    return next(m["content"] for m in request["messages"] if m.get("role") == "system")


class FakeOpenAI(ThreadedFake):
    """The server: `script` is consumed one step per request; `default` answers the rest."""

    def __init__(self) -> None:
        self.script: deque[Step] = deque()
        self.default: Step = reply("How can I help you today?")
        self.requests: list[Request] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._listen(self._handler_class())

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def reset(self) -> None:
        with self._lock:
            self.script.clear()
            self.requests.clear()
            self.headers.clear()
            self.default = reply("How can I help you today?")

    def queue(self, *steps: Step) -> None:
        with self._lock:
            self.script.extend(steps)

    def _next(self, request: Request, headers: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            step = self.script.popleft() if self.script else self.default
        return step(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real API
            # Headers and body go out in two writes: without this, Nagle's algorithm and the
            # client's delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(Answer(status=404, body={"error": {"message": "no such path"}}))
                    return
                request = json.loads(raw)
                headers = {k.lower(): v for k, v in self.headers.items()}
                answer = fake._next(request, headers)
                if answer.delay:
                    time.sleep(answer.delay)
                self._send(answer)

            def _send(self, answer: Answer) -> None:
                body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                data = body.encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as the slow-answer tests intend

        return Handler


def search_then_reply(request: Request) -> Answer:
    """A model that searches the catalog for the customer, then answers from the result."""
    if request["messages"][-1]["role"] == "tool":
        found = json.loads(request["messages"][-1]["content"])
        return reply(f"We have {found.get('total', 0)} matching products.")(request)
    return tool_call("search_products", {"query": "headphones"})(request)


if __name__ == "__main__":
    # Standalone, for benchmarks: a model in its own process, so it costs the measured
    # process no CPU or GIL time. Prints its base URL, then serves until killed.
    fake = FakeOpenAI()
    fake.default = search_then_reply
    print(fake.base_url, flush=True)
    fake._server.serve_forever()
