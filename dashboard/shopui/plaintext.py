"""Text that people or the model wrote, made inert for Streamlit's Markdown.

Names, descriptions, addresses, chat messages and ticket text are shown as they were typed:
no images (which would load from any address when the page opens), no links, no HTML, no
formatting. Bodies go through `st.text`, which parses nothing; where text must sit inside a
Markdown element (titles, captions, notices, toasts), `literal` escapes it completely.
"""

from __future__ import annotations

import html
import re
from typing import Any

#: Every ASCII punctuation character: CommonMark lets each be escaped with a backslash.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
#: Where GFM's bare-link rules start ("http://", "www.", "a@b.co"), which look at the text
#: after escapes are resolved: an invisible word joiner there keeps them from matching.
_LINK_STARTS = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def literal(value: Any) -> str:
    """`value` on one line, shown character for character by any Markdown element."""
    text = " ".join(str(value if value is not None else "").split())
    text = _LINK_STARTS.sub(WORD_JOINER, text)
    return _PUNCTUATION.sub(r"\\\1", text)


def chart_label(value: Any) -> str:
    """`value` for a Plotly label, where `<a href>` and other tags would otherwise render."""
    return html.escape(" ".join(str(value if value is not None else "").split()), quote=False)


def no_math(text: str) -> str:
    """Our own sentence for Markdown, where two `$` amounts would otherwise become a formula."""
    return text.replace("$", "\\$")
