"""Portable case-insensitive substring search (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, with `%`, `_` and `\\` taken literally.

    Use with `column.ilike(pattern, escape="\\\\")`; SQLAlchemy renders ILIKE on PostgreSQL
    and `lower(x) LIKE lower(y)` elsewhere, so the match ignores case on every backend.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
