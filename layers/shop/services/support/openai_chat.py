"""The GPT-backed assistant: Chat Completions with tools, within the turn's deadline.

The official `openai` client is imported on first use (it costs about two seconds of cold
start). Its own retries are off: they honour `Retry-After` for up to two minutes, far past
API Gateway's 29 s, so retries happen here and only while the deadline allows.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from shop.logging import get_logger
from shop.services.support.deadline import Deadline
from shop.services.support.history import HistoryMessage
from shop.services.support.tools import (
    MAX_CALLS_PER_ROUND,
    ToolContext,
    openai_tool_specs,
    run_tool,
)
from shop.settings import get_settings

if TYPE_CHECKING:
    from openai import OpenAI

#: Model rounds that may call tools in one chat turn; the turn ends after these.
MAX_TOOL_ROUNDS = 5
#: Longest reply the model may write (bounds cost and latency per round).
MAX_REPLY_TOKENS = 600
#: Below this many seconds left, a model call is not worth starting.
MIN_ATTEMPT_SECONDS = 0.5


class AssistantUnavailable(Exception):
    """The model could not answer in time or at all; the offline assistant takes over."""


@dataclass(frozen=True)
class AssistantReply:
    text: str
    model: str


#: A key read from Secrets Manager, or the time a read failed (retried after a minute).
_secret_cache: dict[str, str | float] = {}
SECRET_RETRY_SECONDS = 60.0


def _secret_key(secret_arn: str) -> str | None:
    cached = _secret_cache.get(secret_arn)
    if isinstance(cached, str):
        return cached
    if cached is not None and time.monotonic() - cached < SECRET_RETRY_SECONDS:
        return None
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1})
    try:
        raw = boto3.client("secretsmanager", config=config).get_secret_value(SecretId=secret_arn)
        value = raw.get("SecretString") or ""
        if value.lstrip().startswith("{"):
            value = json.loads(value).get("api_key", "")
    except Exception:  # no key means offline answers, never a failed chat
        get_logger().warning("OpenAI key secret not readable; answering offline")
        value = ""
    _secret_cache[secret_arn] = value.strip() or time.monotonic()
    return value.strip() or None


def api_key() -> str | None:
    """The OpenAI key: OPENAI_API_KEY, else the Secrets Manager secret, else None (offline)."""
    settings = get_settings()
    if settings.openai_api_key:
        return settings.openai_api_key
    if settings.openai_secret_arn:
        return _secret_key(settings.openai_secret_arn)
    return None


@lru_cache(maxsize=2)
def openai_client(key: str, base_url: str | None) -> OpenAI:
    """One client per key and server, reused across invocations (it keeps connections open)."""
    from openai import OpenAI

    return OpenAI(api_key=key, base_url=base_url, max_retries=0)


def reset_client_cache() -> None:
    """Forget cached clients and secrets (tests and key rotation)."""
    openai_client.cache_clear()
    _secret_cache.clear()


def _complete(client: OpenAI, request: dict[str, Any], deadline: Deadline) -> Any:
    """One completion, retried on timeouts, connection errors and 5xx while time allows."""
    import openai
    from openai.types.chat import ChatCompletion

    settings = get_settings()
    last: Exception | None = None
    for attempt in range(settings.openai_max_retries + 1):
        if attempt:
            pause = 0.25 * 2 ** (attempt - 1)
            if deadline.remaining() < pause + MIN_ATTEMPT_SECONDS:
                break
            time.sleep(pause)
        remaining = deadline.remaining()
        if remaining < MIN_ATTEMPT_SECONDS:
            break
        try:
            # `client.post` is the client's documented way to send a body as is: the request
            # is plain JSON already, and `chat.completions.create` would spend ~2 ms per call
            # re-walking the tool schemas against its typed parameters.
            return client.post(
                "/chat/completions",
                cast_to=ChatCompletion,
                body=request,
                options={"timeout": min(settings.openai_timeout_seconds, remaining)},
            )
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            last = exc
        except openai.APIStatusError as exc:
            last = exc
            if exc.status_code < 500:  # 429 and 4xx: retrying now will not help
                break
    raise AssistantUnavailable(f"model unavailable: {type(last).__name__ if last else 'deadline'}")


def _assistant_turn(message: Any, calls: list[Any]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": getattr(getattr(call, "function", None), "name", ""),
                    "arguments": getattr(getattr(call, "function", None), "arguments", ""),
                },
            }
            for call in calls
        ],
    }


def _tool_result(ctx: ToolContext, call: Any, index: int) -> dict[str, Any]:
    function = getattr(call, "function", None)
    if index >= MAX_CALLS_PER_ROUND:
        result: Any = {"error": f"At most {MAX_CALLS_PER_ROUND} tool calls per step."}
    elif function is None:
        result = {"error": "Only function tools are available."}
    else:
        result = run_tool(ctx, function.name, function.arguments)
    content = json.dumps(result, ensure_ascii=False, default=str)
    return {"role": "tool", "tool_call_id": call.id, "content": content}


def _abuse_id(ctx: ToolContext) -> str:
    """A stable pseudonym of the customer for OpenAI's abuse monitoring (never the raw id)."""
    owner = f"user:{ctx.principal.user_id}" if ctx.principal else f"chat:{ctx.conversation_id}"
    return "shopfn-" + hashlib.sha256(owner.encode()).hexdigest()[:24]


def answer_with_openai(
    ctx: ToolContext,
    *,
    system_prompt: str,
    history: list[HistoryMessage],
    message: str,
    deadline: Deadline,
) -> AssistantReply:
    """The model's reply to `message`, after at most MAX_TOOL_ROUNDS rounds of tool calls.

    Raises AssistantUnavailable when there is no key, the model fails or times out, or it
    still wants tools after the last round.
    """
    key = api_key()
    if key is None:
        raise AssistantUnavailable("no OpenAI key configured")
    settings = get_settings()
    client = openai_client(key, settings.openai_base_url)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system_prompt},
        *({"role": m.role, "content": m.content} for m in history),
        {"role": "user", "content": message},
    ]
    for round_number in range(MAX_TOOL_ROUNDS + 1):
        request: dict[str, Any] = {
            "model": settings.openai_model,
            "messages": messages,
            "tools": openai_tool_specs(),
            "temperature": 0.3,
            "max_tokens": MAX_REPLY_TOKENS,
            "user": _abuse_id(ctx),
        }
        if round_number == MAX_TOOL_ROUNDS:
            request["tool_choice"] = "none"
        completion = _complete(client, request, deadline)
        try:
            choice = completion.choices[0].message
            calls = list(choice.tool_calls or [])
        except (AttributeError, IndexError, TypeError) as exc:
            raise AssistantUnavailable("malformed completion") from exc
        if not calls:
            if not (choice.content or "").strip():
                raise AssistantUnavailable("empty reply")
            return AssistantReply(text=choice.content, model=completion.model or request["model"])
        if round_number == MAX_TOOL_ROUNDS:
            break
        messages.append(_assistant_turn(choice, calls))
        messages.extend(_tool_result(ctx, call, i) for i, call in enumerate(calls))
    raise AssistantUnavailable(f"still calling tools after {MAX_TOOL_ROUNDS} rounds")
