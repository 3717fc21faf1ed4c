"""Rows of the stats endpoints as plain lists, whatever key names a row uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def first(row: Mapping[str, Any], *keys: str, default: Any = None) -> Any:
    """The value of the first key present in `row`."""
    for key in keys:
        if key in row and row[key] is not None:
            return row[key]
    return default


def as_rows(value: Any, key_name: str = "name", value_name: str = "count") -> list[dict[str, Any]]:
    """A list of dicts from either a list of dicts or a {key: value} mapping."""
    if isinstance(value, Mapping):
        return [{key_name: k, value_name: v} for k, v in value.items()]
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [dict(row) for row in value if isinstance(row, Mapping)]
    return []


def number(value: Any) -> float:
    """A chart coordinate from an API number or money string (charts only, never arithmetic)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
