"""What Streamlit's Markdown would turn into links, images or HTML, checked in Python.

markdown-it-py parses CommonMark (links, images, inline HTML, autolinks in <>); GFM's bare
links ("https://...", "www.x", "a@b.co") are matched with the same patterns Streamlit's
renderer (mdast-util-gfm-autolink-literal) runs over the text after escapes are resolved.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark").enable("strikethrough")
_GFM_LITERALS = (
    re.compile(r"(https?://|www(?=\.))([-.\w]+)([^ \t\r\n]*)", re.IGNORECASE),
    re.compile(r"([-.\w+]+)@([-\w]+(?:\.[-\w]+)+)"),
)
_ACTIVE = {"link_open", "image", "html_inline", "html_block", "math_inline"}


def _tokens(tokens: list[Any]) -> list[Any]:
    flat = []
    for token in tokens:
        flat.append(token)
        flat += _tokens(token.children or [])
    return flat


def markdown_dangers(body: str) -> list[str]:
    """Every link, image, HTML or bare link `body` would render as; [] when it is inert."""
    found = []
    for token in _tokens(_MD.parse(body)):
        if token.type in _ACTIVE:
            found.append(f"{token.type}: {token.attrs or token.content}")
        elif token.type == "text":
            found += [
                f"bare link: {m.group(0)}" for p in _GFM_LITERALS for m in p.finditer(token.content)
            ]
    return found


def visible(body: str) -> str:
    """The text a person reads from a Markdown body (escapes resolved, no invisible joiners)."""
    parts = [t.content for t in _tokens(_MD.parse(body)) if t.type in ("text", "code_inline")]
    return "".join(parts).replace("\u2060", "")
