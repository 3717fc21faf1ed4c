"""docs/api.md read as data: one `### METHOD /path` section per route, with its Who line.

The doc is the HTTP contract; tests compare it with what the functions serve (their OpenAPI
documents and their auth guards), so the two cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API_DOC = ROOT / "docs" / "api.md"
#: The heading of the section that stands for every function's health route.
HEALTH_PATH = "/<prefix>/health"
#: What may follow `**Who:**`: anyone, a signed-in customer or admin, or admins only.
WHO = ("anyone", "signed-in", "admin")
#: The parts every route section has, in the doc's words.
PARTS = ("**Who:**", "**Request:**", "**Response:**", "**Errors:**")

_HEADING = re.compile(r"^### (GET|POST|PUT|PATCH|DELETE) (\S+)\s*$", re.MULTILINE)
_NEXT_HEADING = re.compile(r"^#{1,3} ", re.MULTILINE)
_WHO = re.compile(r"^- \*\*Who:\*\* ([a-z-]+)", re.MULTILINE)
_RESPONSE_STATUS = re.compile(r"^- \*\*Response:\*\* (\d{3})\b", re.MULTILINE)
_PATH_PARAM = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class DocumentedRoute:
    """One route's section of the doc."""

    method: str
    path: str
    section: str

    @property
    def who(self) -> str | None:
        """`anyone`, `signed-in` or `admin`; None when the Who line is missing or unknown."""
        match = _WHO.search(self.section)
        return match.group(1) if match and match.group(1) in WHO else None

    @property
    def response_status(self) -> int | None:
        """The status the Response line starts with (the route's success status)."""
        match = _RESPONSE_STATUS.search(self.section)
        return int(match.group(1)) if match else None

    @property
    def missing_parts(self) -> list[str]:
        """What the section lacks of Who, Request, Response, Errors and an example."""
        missing = [part for part in PARTS if part not in self.section]
        if "```" not in self.section:
            missing.append("an example (a fenced code block)")
        return missing


def documented_routes(text: str, prefixes: list[str]) -> dict[tuple[str, str], DocumentedRoute]:
    """Every route documented in `text`, keyed by (method, path); the health section counts
    once for each of `prefixes`."""
    routes: dict[tuple[str, str], DocumentedRoute] = {}
    for heading in _HEADING.finditer(text):
        rest = text[heading.end() :]
        end = _NEXT_HEADING.search(rest)
        section = rest[: end.start()] if end else rest
        method, path = heading.group(1), heading.group(2)
        paths = [f"{prefix}/health" for prefix in prefixes] if path == HEALTH_PATH else [path]
        for each in paths:
            routes[(method, each)] = DocumentedRoute(method, each, section)
    return routes


def contract_key(method: str, path: str) -> tuple[str, str]:
    """The route with its path parameters written `{}`, as the access matrix compares them."""
    return method, _PATH_PARAM.sub("{}", path)


def read_api_doc(prefixes: list[str]) -> dict[tuple[str, str], DocumentedRoute]:
    """The routes documented in docs/api.md."""
    return documented_routes(API_DOC.read_text(encoding="utf-8"), prefixes)
