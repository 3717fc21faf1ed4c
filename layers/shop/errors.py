"""The exceptions services raise; the app factory maps each to one problem+json status."""

from __future__ import annotations

from typing import Any


class ShopError(Exception):
    """Base of every business-rule failure; `detail` is safe to show to the caller."""

    title = "Error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class BadRequest(ShopError):
    """A request that can't be read at all, such as a webhook whose signature fails (400)."""

    title = "Bad Request"


class NotFound(ShopError):
    title = "Not Found"


class Conflict(ShopError):
    title = "Conflict"


class InvalidInput(ShopError):
    """A value that passed schema validation but breaks a rule (422)."""

    title = "Unprocessable Content"

    def __init__(
        self,
        detail: str,
        *,
        loc: list[str | int] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail, extra=extra)
        self.loc = loc or []


class AuthenticationFailed(ShopError):
    title = "Unauthorized"


class PermissionDenied(ShopError):
    title = "Forbidden"


class TooManyRequests(ShopError):
    title = "Too Many Requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class Unavailable(ShopError):
    """A dependency (database, model store) cannot serve now (503)."""

    title = "Service Unavailable"
