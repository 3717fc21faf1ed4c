"""docs/api.md is the complete HTTP contract: every route every function serves has a section
there (who, request, response, errors, an example), and nothing else does."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from api_doc import API_DOC, DocumentedRoute, documented_routes, read_api_doc

from shopfn.loader import load_app
from shopfn.manifest import load_manifest

_METHODS = {"get", "post", "put", "patch", "delete"}


@dataclass(frozen=True)
class ServedRoute:
    """One method on one path of a function's OpenAPI document."""

    function: str
    method: str
    path: str
    success: frozenset[int]


@cache
def served_routes() -> dict[tuple[str, str], ServedRoute]:
    """Every route in every manifest function's OpenAPI document."""
    routes: dict[tuple[str, str], ServedRoute] = {}
    for spec in load_manifest().functions:
        for path, operations in load_app(spec).openapi()["paths"].items():
            for method, operation in operations.items():
                if method not in _METHODS:
                    continue
                success = frozenset(int(c) for c in operation["responses"] if c.startswith("2"))
                routes[(method.upper(), path)] = ServedRoute(
                    spec.name, method.upper(), path, success
                )
    return routes


def _prefixes() -> list[str]:
    return [spec.prefix for spec in load_manifest().functions]


def undocumented(
    served: dict[tuple[str, str], ServedRoute], documented: dict[tuple[str, str], DocumentedRoute]
) -> list[str]:
    """One line per served route without a section, saying what to add."""
    return [
        f"{route.method} {route.path} (function {route.function}) is not in {API_DOC.name}: "
        f"add a '### {route.method} {route.path}' section with Who, Request, Response, "
        "Errors and an example"
        for key, route in sorted(served.items())
        if key not in documented
    ]


def test_every_route_of_every_function_is_documented() -> None:
    missing = undocumented(served_routes(), read_api_doc(_prefixes()))
    assert missing == [], "\n".join(missing)


def test_every_documented_route_is_served() -> None:
    served = served_routes()
    stale = [
        f"'### {method} {path}' in {API_DOC.name} is served by no function (path or method wrong?)"
        for method, path in sorted(read_api_doc(_prefixes()))
        if (method, path) not in served
    ]
    assert stale == [], "\n".join(stale)


def test_each_route_says_who_request_response_errors_and_shows_an_example() -> None:
    incomplete = {
        f"{route.method} {route.path}": route.missing_parts
        for route in read_api_doc(_prefixes()).values()
        if route.missing_parts or route.who is None
    }
    assert incomplete == {}, (
        "each section needs '- **Who:** anyone|signed-in|admin', Request, Response, Errors "
        f"and a fenced example: {incomplete}"
    )


def test_the_documented_success_status_is_the_one_served() -> None:
    served = served_routes()
    wrong = {
        f"{route.method} {route.path}": (route.response_status, sorted(served[key].success))
        for key, route in read_api_doc(_prefixes()).items()
        if key in served and route.response_status not in served[key].success
    }
    assert wrong == {}, f"(documented, served) success status: {wrong}"


def test_a_new_route_without_a_section_is_named_in_the_failure() -> None:
    """What a helper adding a route sees: the route, its function and the heading to add."""
    served = {
        **served_routes(),
        ("GET", "/ml/retrain/pause"): ServedRoute(
            "retrain", "GET", "/ml/retrain/pause", frozenset({200})
        ),
    }
    documented = read_api_doc(_prefixes())
    assert undocumented(served, documented) == [
        "GET /ml/retrain/pause (function retrain) is not in api.md: add a "
        "'### GET /ml/retrain/pause' section with Who, Request, Response, Errors and an example"
    ]


def test_a_section_without_its_parts_is_incomplete() -> None:
    text = "## Users\n\n### GET /users/me\n- **Who:** somebody\n- **Response:** 200 the user.\n"
    route = documented_routes(text, ["/users"])[("GET", "/users/me")]
    assert route.who is None and route.response_status == 200
    assert route.missing_parts == [
        "**Request:**",
        "**Errors:**",
        "an example (a fenced code block)",
    ]


def test_the_health_section_stands_for_every_function() -> None:
    text = "### GET /<prefix>/health\n- **Who:** anyone\n"
    assert set(documented_routes(text, ["/users", "/ml"])) == {
        ("GET", "/users/health"),
        ("GET", "/ml/health"),
    }
