"""Make a model's reply safe to show and store: plain text, no secrets, no leaked instructions.

Clients may render replies carelessly (innerHTML), and a manipulated model may try to echo
its system prompt or a key. The reply is checked after the model, whatever it was told.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

MAX_REPLY_CHARS = 4000
REFUSAL = (
    "Sorry, I can't share that. I can help with our products, your cart and orders, "
    "shipping, returns, or put you in touch with a person."
)

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# Script and style bodies are code, not words for the customer: dropped with their tags.
_CODE_BLOCK = re.compile(r"<(script|style)\b[^>]*>.*?(?:</\1\s*>|$)", re.DOTALL | re.I)
_TAG = re.compile(r"</?[A-Za-z!?][^<>]*>")
# Any "<" that could still open a tag: followed by a letter, "/", "!" or "?".
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKDOWN_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}"),
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
    ),
    re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
)


def plain_text(text: str) -> str:
    """`text` without HTML (tags, comments, entities that decode to tags) or control characters.

    Entities are decoded first so that `&lt;script&gt;` cannot turn into markup later; a
    comparison like "under < 20" keeps its "<".
    """
    for _ in range(3):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    text = _COMMENT.sub("", text)
    text = _CODE_BLOCK.sub("", text)
    text = _TAG.sub("", text)
    text = _TAG_OPENER.sub("", text)
    text = _CONTROL.sub("", text)
    text = _MARKDOWN_EMPHASIS.sub(r"\2", text)
    text = _MARKDOWN_HEADING.sub("", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) > MAX_REPLY_CHARS:
        text = text[: MAX_REPLY_CHARS - 1].rstrip() + "…"
    return text


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with known secret values and anything shaped like a key replaced by [redacted]."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


def leaks_instructions(text: str, canary: str, instructions: str) -> bool:
    """True when `text` repeats the prompt's canary or a long line of its instructions."""
    if canary and canary in text:
        return True
    squashed = " ".join(text.split()).lower()
    for raw_line in instructions.splitlines():
        line = " ".join(raw_line.split()).lower()
        if len(line) >= 60 and line in squashed:
            return True
    return False


def safe_reply(text: str, *, secrets: Iterable[str], canary: str, instructions: str) -> str:
    """The reply a customer may see and the database may keep."""
    text = redact_secrets(plain_text(text), secrets)
    if leaks_instructions(text, canary, instructions):
        return REFUSAL
    return text or REFUSAL
