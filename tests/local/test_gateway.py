"""The local API Gateway: REST v1 proxy events, longest-prefix routing, isolated function
imports, responses written back (multi-value headers, base64 bodies) and request ids in logs.

Fake functions live in a temporary project root (SHOPFN_ROOT) with their own manifest.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import textwrap
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from shopfn.apigw import build_event
from shopfn.gateway import Gateway
from shopfn.loader import load_handler
from shopfn.manifest import FunctionSpec, Manifest, load_manifest

#: Function names are unique per run: the loader imports each name once per process.
SUFFIX = uuid.uuid4().hex[:8]
PREDICT, RETRAIN, LONER, PICKY = (f"{n}{SUFFIX}" for n in ("predict", "retrain", "loner", "picky"))
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"

ECHO_HANDLER = """
import base64, json

def handler(event, context):
    body = {"function": %(name)r, "event": event, "request_id": context.aws_request_id}
    if event["path"].endswith("/image"):
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "multiValueHeaders": {}, "isBase64Encoded": True,
                "body": base64.b64encode(%(png)r).decode()}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-single": "one"},
        "multiValueHeaders": {"set-cookie": ["a=1; Path=/", "b=2; Path=/"]},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
"""


def _spec(name: str, prefix: str, api: str = "ml") -> FunctionSpec:
    return FunctionSpec(
        name=name,
        api=api,  # type: ignore[arg-type]
        prefix=prefix,
        handler=f"{name}.handler.handler",
        memory=128,
        timeout=5,
        runtime="python3.12",
    )


def _write_function(root: Path, name: str, handler_source: str) -> None:
    folder = root / "functions" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text("")
    (folder / "handler.py").write_text(textwrap.dedent(handler_source))


@pytest.fixture
def fake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (PREDICT, RETRAIN):
        _write_function(tmp_path, name, ECHO_HANDLER % {"name": name, "png": PNG})
    monkeypatch.setenv("SHOPFN_ROOT", str(tmp_path))
    return tmp_path


@pytest.fixture
def manifest(fake_root: Path) -> Manifest:
    return Manifest(functions=(_spec(PREDICT, "/ml"), _spec(RETRAIN, "/ml/retrain")))


@pytest.fixture
def ml_gateway(manifest: Manifest) -> Iterator[TestClient]:
    with (
        ThreadPoolExecutor(max_workers=4) as executor,
        TestClient(Gateway(manifest, "ml", executor)) as http,
    ):
        yield http


# --- events ---------------------------------------------------------------------------------


def test_the_event_has_the_rest_v1_proxy_shape() -> None:
    spec = _spec("predict", "/ml")
    event = build_event(
        spec,
        "post",
        "/ml/predictions/batch",
        headers=[("Content-Type", "application/json"), ("X-Tag", "a"), ("X-Tag", "b")],
        query_string="limit=5&tag=x&tag=y&q=%C3%A9t%C3%A9",
        body=b'{"user_ids": [1]}',
        source_ip="10.1.2.3",
    )
    assert set(event) >= {
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    assert event["resource"] == "/ml/{proxy+}"
    assert event["path"] == "/ml/predictions/batch"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"proxy": "predictions/batch"}
    assert event["headers"]["X-Tag"] == "b"  # API Gateway keeps the last value here
    assert event["multiValueHeaders"]["X-Tag"] == ["a", "b"]
    assert event["queryStringParameters"] == {"limit": "5", "tag": "y", "q": "été"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["x", "y"]
    context = event["requestContext"]
    assert context["requestId"] and context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "10.1.2.3"
    assert context["httpMethod"] == "POST" and context["resourcePath"] == "/ml/{proxy+}"
    assert event["body"] == '{"user_ids": [1]}' and event["isBase64Encoded"] is False


def test_a_request_for_the_prefix_itself_has_no_proxy_parameter() -> None:
    event = build_event(_spec("retrain", "/ml/retrain"), "POST", "/ml/retrain")
    assert event["resource"] == "/ml/retrain"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None and event["body"] is None


def test_binary_request_bodies_are_base64_encoded() -> None:
    event = build_event(_spec("predict", "/ml"), "POST", "/ml/upload", body=PNG)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == PNG


# --- routing --------------------------------------------------------------------------------


def test_the_longest_matching_prefix_wins(manifest: Manifest) -> None:
    def served_by(api: str, path: str) -> str | None:
        spec = manifest.route(api, path)  # type: ignore[arg-type]
        return spec.name if spec else None

    assert served_by("ml", "/ml/retrain") == RETRAIN
    assert served_by("ml", "/ml/retrain/runs/7") == RETRAIN
    assert served_by("ml", "/ml/retrainer") == PREDICT  # a prefix matches whole segments only
    assert served_by("ml", "/ml/models") == PREDICT
    assert served_by("ml", "/ml") == PREDICT
    assert served_by("ml", "/mlx") is None
    assert served_by("commerce", "/ml/models") is None


def test_the_gateway_routes_requests_to_the_function_that_owns_the_path(
    ml_gateway: TestClient,
) -> None:
    runs = ml_gateway.get("/ml/retrain/runs?page=2")
    assert runs.status_code == 200
    assert runs.json()["function"] == RETRAIN
    assert runs.json()["event"]["pathParameters"] == {"proxy": "runs"}
    assert runs.json()["event"]["resource"] == "/ml/retrain/{proxy+}"
    assert runs.json()["event"]["queryStringParameters"] == {"page": "2"}
    assert ml_gateway.get("/ml/models").json()["function"] == PREDICT


def test_unknown_paths_get_a_problem_404(ml_gateway: TestClient) -> None:
    reply = ml_gateway.get("/nowhere/at/all")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["status"] == 404


def test_the_real_manifest_routes_every_prefix_to_its_function() -> None:
    real = load_manifest()
    for spec in real.functions:
        assert real.route(spec.api, spec.prefix) == spec
        assert real.route(spec.api, f"{spec.prefix}/anything/below") in (
            spec,
            *[s for s in real.functions if s.prefix.startswith(spec.prefix + "/")],
        )


# --- responses ------------------------------------------------------------------------------


def test_multi_value_headers_and_base64_bodies_are_written_back(ml_gateway: TestClient) -> None:
    reply = ml_gateway.get("/ml/models")
    assert reply.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert reply.headers["x-single"] == "one"
    image = ml_gateway.get("/ml/image")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content == PNG


def test_a_binary_request_body_reaches_the_function_intact(ml_gateway: TestClient) -> None:
    reply = ml_gateway.post("/ml/upload", content=PNG, headers={"content-type": "image/png"})
    event = reply.json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == PNG
    assert event["headers"]["content-type"] == "image/png"


def test_ten_megabyte_query_strings_are_refused_before_any_function_runs(
    manifest: Manifest,
) -> None:
    """Sent as raw ASGI: HTTP clients refuse to build such URLs, attackers do not."""
    import asyncio
    import time

    scope = {
        "type": "http",
        "method": "GET",
        "path": "/ml/models",
        "raw_path": b"/ml/models",
        "query_string": b"q=" + b"%C3%A9" * (10 * 1024 * 1024 // 6),
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 1),
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as executor:
        asyncio.run(Gateway(manifest, "ml", executor)(scope, receive, send))
    assert time.perf_counter() - started < 1.0
    assert sent[0]["status"] == 414
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]  # type: ignore[operator]
    assert json.loads(sent[1]["body"])["status"] == 414  # type: ignore[arg-type]


# --- isolation ------------------------------------------------------------------------------


def test_a_function_that_imports_another_function_fails_to_load(fake_root: Path) -> None:
    _write_function(fake_root, LONER, f"import {PREDICT}\nhandler = None\n")
    _write_function(fake_root, PICKY, f"from {PREDICT}.handler import handler\n")
    assert load_handler(_spec(PREDICT, "/ml"))  # the sibling itself loads fine
    for name in (LONER, PICKY):
        with pytest.raises(ModuleNotFoundError, match=PREDICT):
            load_handler(_spec(name, f"/{name}"))


def test_no_real_function_imports_another() -> None:
    import ast

    real = load_manifest()
    names = {spec.name for spec in real.functions}
    for spec in real.functions:
        for source in spec.path.rglob("*.py"):
            tree = ast.parse(source.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    roots = {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    roots = {node.module.split(".")[0]}
                else:
                    continue
                assert not roots & (names | {"functions"}), f"{source} imports {roots}"


# --- request ids ----------------------------------------------------------------------------


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """The JSON lines the users function's Powertools Logger (and `shop`) write, at DEBUG."""
    users = load_handler(load_manifest().get("users"))
    assert users
    stream = io.StringIO()
    service_logger = logging.getLogger("users")
    formatter = service_logger.handlers[0].formatter
    filters = service_logger.handlers[0].filters
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    for log_filter in filters:
        handler.addFilter(log_filter)
    loggers = [service_logger, logging.getLogger("shop")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def commerce_gateway(database: str) -> Iterator[TestClient]:
    with (
        ThreadPoolExecutor(max_workers=4) as executor,
        TestClient(Gateway(load_manifest(), "commerce", executor)) as http,
    ):
        yield http


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_given_request_id_is_echoed_and_in_every_log_line(
    commerce_gateway: TestClient, captured_logs: io.StringIO
) -> None:
    reply = commerce_gateway.get("/users/me", headers={"X-Request-ID": "trace-42.a"})
    assert reply.status_code == 401
    assert reply.headers["x-request-id"] == "trace-42.a"
    lines = _lines(captured_logs)
    assert lines, "the request wrote no log line"
    assert {line.get("request_id") for line in lines} == {"trace-42.a"}
    assert any(line.get("status") == 401 for line in lines)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_missing_or_hostile_request_id_is_replaced_by_a_generated_one(
    commerce_gateway: TestClient, captured_logs: io.StringIO
) -> None:
    plain = commerce_gateway.get("/users/health")
    hostile = commerce_gateway.get(
        "/users/health", headers={"X-Request-ID": "a b<script>" + "x" * 200}
    )
    generated = [plain.headers["x-request-id"], hostile.headers["x-request-id"]]
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in generated)
    assert generated[0] != generated[1]
    assert [line["request_id"] for line in _lines(captured_logs)] == generated


def test_service_log_lines_carry_the_id_and_name_of_the_function_being_invoked() -> None:
    """Lines a service logs (`shop` logger) during a request are formatted by the invoked
    function's Logger: its service name and the request's id, even with two functions loaded."""
    from fastapi import APIRouter

    from shop.http.app import create_app
    from shop.http.handler import make_handler
    from shop.logging import get_logger
    from shopfn.gateway import invoke_handler

    router = APIRouter()

    @router.get("/noisy")
    def noisy() -> dict[str, bool]:
        get_logger().warning("something worth a look")
        return {"ok": True}

    names = [f"noisy{SUFFIX}", f"loud{SUFFIX}"]
    handlers = {name: make_handler(create_app(name, f"/{name}", [router]), name) for name in names}
    stream = io.StringIO()
    captures = []
    for name in names:
        source = logging.getLogger(name).handlers[0]
        capture = logging.StreamHandler(stream)
        capture.setFormatter(source.formatter)
        for log_filter in source.filters:
            capture.addFilter(log_filter)
        logging.getLogger(name).addHandler(capture)
        captures.append((name, capture))
    try:
        for name in names:
            spec = _spec(name, f"/{name}", api="commerce")
            headers = [("x-request-id", f"svc-{name}")]
            event = build_event(spec, "GET", f"/{name}/noisy", headers=headers)
            result = invoke_handler(spec, handlers[name], event)
            assert result["statusCode"] == 200
            assert result["headers"]["x-request-id"] == f"svc-{name}"
    finally:
        for name, capture in captures:
            logging.getLogger(name).removeHandler(capture)
    lines = [json.loads(raw) for raw in stream.getvalue().splitlines()]
    assert [(line["service"], line["request_id"]) for line in lines] == [
        (name, f"svc-{name}") for name in names
    ]
    assert all(line["message"] == "something worth a look" for line in lines)
    assert all(line["level"] == "WARNING" for line in lines)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "headers",
    [
        {"host": "[::1]:8001"},
        {"host": "shop:notaport"},
        {"host": "a:b:c"},
        {"x-forwarded-port": "x"},
    ],
    ids=str,
)
def test_host_headers_mangum_cannot_parse_do_not_crash_a_function(
    commerce_gateway: TestClient, headers: dict[str, str]
) -> None:
    reply = commerce_gateway.get("/users/health", headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "ok"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_trailing_slash_is_a_problem_404_not_a_redirect_to_mangums_host(
    commerce_gateway: TestClient,
) -> None:
    reply = commerce_gateway.get("/products/", follow_redirects=False)
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert "location" not in reply.headers


def test_a_function_that_crashes_gets_a_problem_502_like_api_gateway(fake_root: Path) -> None:
    name = f"crashy{SUFFIX}"
    _write_function(fake_root, name, "def handler(event, context):\n    raise RuntimeError('x')\n")
    manifest = Manifest(functions=(_spec(name, "/crash"),))
    with (
        ThreadPoolExecutor(max_workers=1) as executor,
        TestClient(Gateway(manifest, "ml", executor)) as http,
    ):
        reply = http.get("/crash/now")
    assert reply.status_code == 502
    assert reply.headers["content-type"] == "application/problem+json"
    assert "RuntimeError" not in reply.text
