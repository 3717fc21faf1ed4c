"""Schema building blocks shared by every function: money, pages, safe strings."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.warnings import UnsupportedFieldAttributeWarning


def _printable(value: str) -> str:
    # NUL bytes and lone surrogates can't be stored by PostgreSQL: refuse them up front.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode text") from exc
    return value


#: Any text from a client: no NULs, valid UTF-8.
SafeStr = Annotated[str, AfterValidator(_printable)]

#: Like SafeStr, but never stripped of surrounding whitespace (passwords are kept as typed).
VerbatimStr = Annotated[str, StringConstraints(strip_whitespace=False), AfterValidator(_printable)]


def _two_places(value: Decimal) -> str:
    return f"{value:.2f}"


_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _plain_decimal_text(value: Any) -> Any:
    # Decimal() also reads "1_000", "1e2" and non-ASCII digits; money text is plain digits.
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value.strip()):
        raise ValueError("must be a decimal amount like 19.99")
    return value


#: Money as clients send it: a number or a string, positive, finite, at most two places.
MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_plain_decimal_text),
    Field(gt=0, max_digits=12, decimal_places=2, allow_inf_nan=False),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}], "examples": ["19.99"]}),
]

#: Money as the API returns it: a decimal string with two places.
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(_two_places, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["19.99"]}),
]


#: Every API schema builds its validator on first use (pydantic's `defer_build`), not when
#: its module is imported: a cold start then builds only the schemas of the route it answers
#: (none for a health check), not those of every route in the function.
DEFERRED = ConfigDict(defer_build=True)
# FastAPI wraps a body model as `Annotated[Model, Field(alias=<parameter>)]` and silences
# pydantic's warning that such an alias has no effect while it builds that field; deferred,
# the field is built at its first request instead, outside that silence.
warnings.filterwarnings(
    "ignore", message="The 'alias' attribute with value", category=UnsupportedFieldAttributeWarning
)


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields are ignored, never applied."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, **DEFERRED)


class Response(BaseModel):
    """Base of response bodies, built from ORM objects."""

    model_config = ConfigDict(from_attributes=True, **DEFERRED)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `{items, total, page, page_size}`."""

    model_config = DEFERRED

    items: list[T]
    total: int
    page: int
    page_size: int


class Problem(BaseModel):
    """An RFC 9457 problem document, as every error is returned."""

    model_config = DEFERRED

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
