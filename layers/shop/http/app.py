"""The app factory: every function is a FastAPI app built the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.responses import JSONResponse

from shop import __version__
from shop.db import ping
from shop.http import problems
from shop.http.middleware import RequestContextMiddleware
from shop.http.schemas import Problem
from shop.settings import get_settings

#: Error responses documented on every route of every function. Only in the OpenAPI document
#: (`_openapi`): given to FastAPI as the app's `responses`, they would make it build nine
#: response fields for every route the first time a request reaches that route's router,
#: work that no answer uses (a few milliseconds of each function's first health event, tens
#: for a first request into a large router).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {problems.PROBLEM_JSON: {}}}
    for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def create_app(
    service: str,
    prefix: str,
    routers: Sequence[APIRouter],
    *,
    description: str = "",
    health_checks: dict[str, Callable[[], bool]] | None = None,
) -> FastAPI:
    """A function's app: its routers under `prefix`, plus health, OpenAPI and error handling.

    `health_checks` adds named dependency probes to `GET /<prefix>/health` beyond the database.
    """
    app = FastAPI(
        title=f"shopfn {service}",
        version=__version__,
        description=description,
        openapi_url=f"{prefix}/openapi.json",
        docs_url=f"{prefix}/docs",
        redoc_url=None,
        # A trailing slash is a 404, not a redirect to the host Mangum makes up ("mangum:80").
        redirect_slashes=False,
    )
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    problems.install(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=get_settings().max_body_bytes)
    app.include_router(_health_router(service, prefix, health_checks or {}))
    for router in routers:
        app.include_router(router, prefix=prefix)
    return app


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi` documenting `COMMON_RESPONSES` on every route, built on the first request
    for the document: the same document as an app given them as its `responses`, since the
    routes are added again under a router that has them, as FastAPI would have added them."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            documented = APIRouter(responses=COMMON_RESPONSES)
            documented.include_router(app.router)
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                terms_of_service=app.terms_of_service,
                contact=app.contact,
                license_info=app.license_info,
                routes=documented.routes,
                webhooks=app.webhooks.routes,
                tags=app.openapi_tags,
                servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
                external_docs=app.openapi_external_docs,
            )
        return app.openapi_schema

    return openapi


def _health_router(service: str, prefix: str, checks: dict[str, Callable[[], bool]]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(f"{prefix}/health", summary="Liveness and dependency health")
    async def health() -> JSONResponse:  # inline, no worker thread: see shop.http.deps
        results = {"database": ping(), **{name: check() for name, check in checks.items()}}
        healthy = all(results.values())
        body = {
            "status": "ok" if healthy else "degraded",
            "service": service,
            "version": __version__,
            **{name: "ok" if ok else "unreachable" for name, ok in results.items()},
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    return router
