"""Every failure becomes an RFC 9457 problem+json response: one mapping, used by all functions."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from shop import errors
from shop.logging import get_logger, log_failure

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: dict[type[errors.ShopError], int] = {
    errors.BadRequest: 400,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.InvalidInput: 422,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.TooManyRequests: 429,
    errors.Unavailable: 503,
}


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors_: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem+json response with the standard members and any extension members."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors_ is not None:
        body["errors"] = errors_
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _shop_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ShopError)
    status = next(s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls))
    headers: dict[str, str] = {}
    errors_: list[dict[str, Any]] | None = None
    if isinstance(exc, errors.AuthenticationFailed):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.InvalidInput) and exc.loc:
        errors_ = [{"loc": exc.loc, "msg": exc.detail}]
    return problem_response(
        status, exc.detail, title=exc.title, errors_=errors_, headers=headers, extra=exc.extra
    )


def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(error.get("type") == "json_invalid" for error in raw):
        return problem_response(400, "The request body is not valid JSON.")
    # Only location and message: echoing `input` could reflect huge or hostile values.
    details = [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", ""))} for error in raw
    ]
    return problem_response(
        422, "The request has invalid field values.", title="Unprocessable Content", errors_=details
    )


def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    return problem_response(exc.status_code, detail, headers=dict(exc.headers or {}))


#: Seconds a client should wait before retrying after a database failure.
DATABASE_RETRY_AFTER = 1


def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    """A database failure (dropped connection, failover, timeout, pooler error) is a 503.

    The request's transaction was rolled back (or never committed), so retrying is safe;
    the error is logged with its cause, never the server's message (`log_failure`).
    """
    log_failure(get_logger(), "database unavailable", exc)
    return problem_response(
        503,
        "The database is not available right now. Please try again in a moment.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    get_logger().exception("unhandled error", exc_info=exc)
    return problem_response(500, "An unexpected error occurred; it has been logged.")


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on `app`."""
    app.add_exception_handler(errors.ShopError, _shop_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for database_error in (DBAPIError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(database_error, _database_error)
    app.add_exception_handler(Exception, _unexpected)
