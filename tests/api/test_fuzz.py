"""Property-based fuzzing of every route of every function: no input, however odd, gives a 5xx.

Routes, their query parameters and body fields come from the manifest and each function's
OpenAPI document, so functions added later are fuzzed too. Requests go through the real Lambda
handlers as API Gateway events, as an anonymous caller, a customer and an admin, with random
JSON (and not-quite-JSON) bodies, query strings (unicode, NUL, `1e309`, long strings), path
parameters and headers. Every error must be a problem+json document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import LambdaClient, Reply, make_admin, sign_up

from shopfn.loader import load_app, load_routes
from shopfn.manifest import load_manifest

_PATH_PARAM = re.compile(r"\{([^}:]*)(?::[^}]*)?\}")
_BODY_METHODS = {"POST", "PUT", "PATCH"}

#: Examples shared out over all endpoints, so the file stays fast as functions are added.
EXAMPLE_BUDGET = 360
MIN_EXAMPLES = 12


@dataclass(frozen=True)
class Operation:
    """One method on one route, with the input names its OpenAPI document declares."""

    function: str
    method: str
    path: str
    query_names: tuple[str, ...]
    header_names: tuple[str, ...]
    body_fields: tuple[tuple[str, str], ...]  # (name, JSON of its resolved schema)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return dict(document["components"]["schemas"][name])
    return schema


def _resolved(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """`schema` with `$ref`s replaced by what they point to (a few levels deep)."""
    if depth > 4:
        return {}
    if isinstance(schema, dict):
        target = _schema(document, schema) if "$ref" in schema else schema
        return {k: _resolved(document, v, depth + 1) for k, v in target.items()}
    if isinstance(schema, list):
        return [_resolved(document, item, depth + 1) for item in schema]
    return schema


def _operations() -> list[Operation]:
    operations: list[Operation] = []
    for spec in load_manifest().functions:
        document = load_app(spec).openapi()
        for route in load_routes(spec):
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                described = document["paths"].get(route.path, {}).get(method.lower(), {})
                params = described.get("parameters", [])
                content = described.get("requestBody", {}).get("content", {})
                body = _schema(document, content.get("application/json", {}).get("schema", {}))
                operations.append(
                    Operation(
                        function=spec.name,
                        method=method,
                        path=route.path,
                        query_names=tuple(p["name"] for p in params if p["in"] == "query"),
                        header_names=tuple(p["name"] for p in params if p["in"] == "header"),
                        body_fields=tuple(
                            (name, json.dumps(_resolved(document, prop)))
                            for name, prop in body.get("properties", {}).items()
                        ),
                    )
                )
    return operations


OPERATIONS = _operations()

# SQLite and PostgreSQL (where NUL bytes and encodings break first) within a minute together.
pytestmark = pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
EXAMPLES = max(MIN_EXAMPLES, EXAMPLE_BUDGET // max(1, len(OPERATIONS)))

# --- strategies -------------------------------------------------------------------------------

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "1e309",
    "-1e309",
    "1e-400",
    "NaN",
    "-Infinity",
    "99999999999999999999999999",
    "-1",
    "0",
    "2147483648",
    "9223372036854775808",
    "1.005",
    "12.3456",
    "true",
    "null",
    "[]",
    "{}",
    "' OR 1=1 --",
    "'; DROP TABLE users; --",
    "%00",
    "%",
    "\\",
    "\u202e\u0645\u0631\u062d\u0628\u0627",
    "\U0001f6d2\U0001f4b3",
    "\ufeff",
    "\uffff",
    "admin",
    "http://user:pass@example.com/x.png",
    "javascript:alert(1)",
    "x" * 3000,
    "\u00e9" * 1500,
]

texts = st.one_of(st.text(max_size=40), st.sampled_from(NASTY_STRINGS))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4)
    ),
    max_leaves=8,
)

RAW_BODIES = [
    b"{",
    b"{}}",
    b"\xff\xfe\x00{",
    b"null",
    b"[]",
    b'"text"',
    b"1e309",
    b"NaN",
    b"[" * 5000 + b"]" * 5000,
    b'{"a": ' * 3000 + b"1" + b"}" * 3000,
    b"\x00" * 64,
]


emails = st.builds(
    "{}@{}".format,
    st.one_of(
        st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True),
        st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True),
        st.sampled_from(NASTY_STRINGS),
    ),
    st.sampled_from(["example.com", "example.com", "ex\u00e4mple.com", "x" * 300 + ".com", ""]),
)
integers = st.one_of(
    st.integers(min_value=-3, max_value=50),
    st.sampled_from([2**31, 2**31 - 1, 2**63, -(2**63) - 1, 10**30]),
    st.integers(),
)
numbers = st.one_of(
    integers,
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["19.99", "0.001", "-1", "1e309", "NaN", "1" * 40]),
)


def values_for(schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that look like what the field takes (so requests get past parsing), or junk."""
    options: list[st.SearchStrategy[Any]] = []
    for kind in [schema, *schema.get("anyOf", []), *schema.get("allOf", [])]:
        if "enum" in kind:
            options.append(st.sampled_from(kind["enum"]))
        kind_type = kind.get("type")
        if kind_type == "string":
            options.append(emails if kind.get("format") == "email" else texts)
        elif kind_type == "integer":
            options.append(integers)
        elif kind_type == "number":
            options.append(numbers)
        elif kind_type == "boolean":
            options.append(st.booleans())
        elif kind_type == "array" and depth < 3:
            options.append(st.lists(values_for(kind.get("items", {}), depth + 1), max_size=3))
        elif "properties" in kind and depth < 3:
            options.append(objects_for(kind["properties"], depth + 1))
    # Mostly plausible values, so requests reach the services; junk a quarter of the time.
    return st.one_of(*(options * 3), json_values) if options else json_values


def objects_for(properties: dict[str, Any], depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with every field (often), or some of them, plus the odd unknown field."""
    fields = {name: values_for(schema, depth) for name, schema in properties.items()}
    complete = st.fixed_dictionaries(fields)
    partial = st.fixed_dictionaries({}, optional=fields)
    extras = st.dictionaries(texts, json_values, max_size=2)
    return st.builds(
        lambda known, extra: {**extra, **known}, st.one_of(complete, complete, partial), extras
    )


def _raw_number_body(names: list[str]) -> st.SearchStrategy[bytes]:
    """JSON with numbers Python's encoder never writes: 1e309, -1e309, NaN, 400-digit ints."""
    raw_numbers = st.sampled_from(["1e309", "-1e309", "NaN", "Infinity", "1e-400", "9" * 400])
    return st.builds(
        lambda name, number: f'{{"{name.replace(chr(34), "")}": {number}}}'.encode(),
        st.sampled_from(names) if names else texts,
        raw_numbers,
    )


def bodies(fields: tuple[tuple[str, str], ...]) -> st.SearchStrategy[bytes | None]:
    properties = {name: json.loads(schema) for name, schema in fields}
    return st.one_of(
        objects_for(properties).map(lambda value: json.dumps(value).encode()),
        objects_for(properties).map(lambda value: json.dumps(value).encode()),
        st.none(),
        json_values.map(lambda value: json.dumps(value).encode()),
        _raw_number_body(list(properties)),
        st.sampled_from(RAW_BODIES),
    )


def query_strings(names: tuple[str, ...]) -> st.SearchStrategy[str]:
    name = st.sampled_from(names) | texts if names else texts
    pairs = st.lists(st.tuples(name, texts), max_size=5).map(urlencode)
    raw = st.sampled_from(["%00", "page=%00", "a=%ff%fe", "page=1e309&page_size=1e309", "&&=&="])
    return st.one_of(pairs, raw)


def path_values() -> st.SearchStrategy[str]:
    ints = st.one_of(st.integers(min_value=-5, max_value=60), st.integers()).map(str)
    return st.one_of(ints, texts.filter(lambda s: "/" not in s and "?" not in s and "#" not in s))


CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "application/merge-patch+json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=--x",
    "application/xml",
    "",
    "\u00e9/\u00e8",
]


def headers_for(operation: Operation) -> st.SearchStrategy[dict[str, str]]:
    header_text = st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="\x7f"),
        max_size=60,
    )
    optional: dict[str, st.SearchStrategy[str]] = {
        "content-type": st.sampled_from(CONTENT_TYPES),
        "x-request-id": header_text,
        "accept": st.sampled_from(["*/*", "text/html", "application/xml", "\u00e9"]),
        "content-length": st.sampled_from(["0", "-1", "abc", "1e309", "99999999999"]),
        "idempotency-key": header_text,
        "content-encoding": st.sampled_from(["gzip", "br", "identity"]),
        "host": st.sampled_from(["a:b:c", "[::1]:8001", "x:notaport", "", "h\u00e9st:80"]),
        "x-forwarded-port": st.sampled_from(["abc", "-1", "99999999", ""]),
    }
    for name in operation.header_names:
        optional[name.lower()] = header_text
    # Plain requests half of the time, so bodies and queries get past content negotiation.
    return st.one_of(st.just({}), st.fixed_dictionaries({}, optional=optional))


# --- the property ---------------------------------------------------------------------------


def _fill(path: str, values: list[str]) -> str:
    parts = iter(values)
    return _PATH_PARAM.sub(lambda _: quote(next(parts), safe=""), path)


def assert_answered_cleanly(reply: Reply, what: str) -> None:
    """No 5xx but a deliberate 503, no redirects; every error is a problem+json document."""
    # 503 is the contract's answer while a dependency is missing (predict before any training).
    deliberate = reply.status == 503 and reply.is_problem
    assert reply.status < 500 or deliberate, f"{what} -> {reply.status}: {reply.body[:500]!r}"
    assert not 300 <= reply.status < 400, f"{what} -> {reply.status} to {reply.headers}"
    if reply.status >= 400:
        assert reply.is_problem, f"{what} -> {reply.status} as {reply.headers.get('content-type')}"
        problem = reply.json()
        assert problem["status"] == reply.status
        assert {"type", "title", "detail"} <= problem.keys()
        assert "Traceback" not in reply.body.decode("utf-8", "replace")


@pytest.fixture(scope="module")
def client(database: str) -> LambdaClient:
    """One client per backend: the fuzz runs on a shop that keeps its data between tests
    (emptying every table before each of a hundred tests would cost more than the fuzzing)."""
    return LambdaClient()


@pytest.fixture(scope="module")
def callers(client: LambdaClient) -> dict[str, str | None]:
    from shop.db import session_scope
    from shop.services.seed import seed_catalog

    with session_scope() as session:
        seed_catalog(session)
    return {
        "anonymous": None,
        "customer": sign_up(client).access_token,
        "admin": make_admin(client).access_token,
    }


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_no_input_makes_a_route_fail_with_a_server_error(
    operation: Operation, client: LambdaClient, callers: dict[str, str | None]
) -> None:
    n_params = len(_PATH_PARAM.findall(operation.path))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        caller=st.sampled_from(sorted(callers)),
        path_params=st.lists(path_values(), min_size=n_params, max_size=n_params),
        query=query_strings(operation.query_names),
        headers=headers_for(operation),
        body=bodies(operation.body_fields)
        if operation.method in _BODY_METHODS
        else st.none() | st.sampled_from([b"{}", b"\xff"]),
    )
    def probe(
        caller: str,
        path_params: list[str],
        query: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> None:
        path = _fill(operation.path, path_params)
        headers = {"content-type": "application/json", **headers}
        token = callers[caller]
        if token is not None:
            headers = {**headers, "authorization": f"Bearer {token}"}
        reply = client.request(
            operation.method, f"{path}", body=body, headers=headers, params=_parsed(query)
        )
        assert_answered_cleanly(reply, f"{caller} {operation.method} {path}?{query[:200]}")

    probe()


def _parsed(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


#: One value per row for every field of a body, by type: the inputs that break databases.
SWEEP: list[dict[str, Any]] = [
    {"string": "a\x00b", "integer": 2**63, "number": "1e309", "email": "a\x00b@example.com"},
    {"string": "\ud800 lone surrogate", "integer": -1, "number": "NaN", "email": "\ud800@x.com"},
    {"string": "x" * 5000, "integer": 10**30, "number": "1" * 40, "email": "x" * 300 + "@x.com"},
    {"string": "' OR 1=1 --", "integer": 0, "number": "-0.01", "email": "' OR 1=1 --@x.com"},
    {
        "string": "\U0001f6d2 emoji \u202e",
        "integer": 2**31,
        "number": 1e300,
        "email": "\u00e9@x.com",
    },
    {"string": "   ", "integer": -(2**63) - 1, "number": "0.001", "email": "@"},
    {"string": "long enough password", "integer": 1, "number": "19.99", "email": "ok@example.com"},
]


def _sweep_value(schema: dict[str, Any], row: dict[str, Any]) -> Any:
    for kind in [schema, *schema.get("anyOf", [])]:
        if kind.get("format") == "email":
            return row["email"]
        if kind.get("type") in ("string", "integer", "number"):
            return row[kind["type"]]
        if kind.get("type") == "array":
            return [_sweep_value(kind.get("items", {}), row)]
        if "properties" in kind:
            return {name: _sweep_value(sub, row) for name, sub in kind["properties"].items()}
    return row["string"]


def _in_url(value: str) -> str:
    """`value` if a URL can carry it (lone surrogates cannot be percent-encoded)."""
    return value.encode("utf-8", "replace").decode("utf-8")


@pytest.mark.parametrize("row", range(len(SWEEP)))
def test_every_field_survives_the_values_that_break_databases(
    row: int, client: LambdaClient, callers: dict[str, str | None]
) -> None:
    """Each body field of every operation gets NULs, lone surrogates, huge numbers... at once.

    Sent by the strongest caller the route lets in, so the values reach the services.
    """
    for operation in OPERATIONS:
        properties = {name: json.loads(schema) for name, schema in operation.body_fields}
        body = {name: _sweep_value(schema, SWEEP[row]) for name, schema in properties.items()}
        path = _fill(operation.path, [str(SWEEP[row]["integer"])] * operation.path.count("{"))
        for caller in ("admin", "anonymous"):
            reply = client.request(
                operation.method,
                path,
                body=json.dumps(body).encode() if operation.method in _BODY_METHODS else None,
                headers={"content-type": "application/json"},
                params=[(name, _in_url(SWEEP[row]["string"])) for name in operation.query_names],
                token=callers[caller],
            )
            assert_answered_cleanly(reply, f"{caller} {operation} with {body!r:.300}")


@pytest.mark.parametrize("function", [spec.name for spec in load_manifest().functions])
def test_query_strings_longer_than_api_gateway_allows_get_414(
    function: str, client: LambdaClient, callers: dict[str, str | None]
) -> None:
    """API Gateway stops long URLs before they reach a Lambda; a function refuses them too.

    (10 MB query strings through the local gateway: tests/local/test_gateway.py.)
    """
    reads = [op for op in OPERATIONS if op.function == function and op.method == "GET"]
    operation = max(reads, key=lambda op: len(op.query_names))
    path = _fill(operation.path, ["1"] * len(_PATH_PARAM.findall(operation.path)))
    name = (operation.query_names or ("q",))[0]
    for caller, token in callers.items():
        reply = client.get(path, params=[(name, "\u00e9" * 20_000)], token=token)
        assert_answered_cleanly(reply, f"{caller} GET {path} with a 120 kB query")
        assert reply.status == 414


def test_methods_a_route_does_not_have_get_a_problem_405(client: LambdaClient) -> None:
    by_path: dict[str, set[str]] = {}
    for operation in OPERATIONS:
        by_path.setdefault(operation.path, set()).add(operation.method)
    for path, methods in by_path.items():
        url = _fill(path, ["1"] * len(_PATH_PARAM.findall(path)))
        for method in sorted({"GET", "PUT", "DELETE", "PATCH", "POST"} - methods):
            reply = client.request(method, url)
            assert_answered_cleanly(reply, f"{method} {url}")
            assert reply.status in (401, 404, 405, 422), (method, url, reply.status)
