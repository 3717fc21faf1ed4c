"""API Gateway REST API (v1) proxy events and responses, built exactly as AWS shapes them."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from shopfn.manifest import FunctionSpec

STAGE = "local"


def build_event(
    spec: FunctionSpec,
    method: str,
    path: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    query_string: str = "",
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The proxy event API Gateway sends to `spec`'s Lambda for this HTTP request."""
    headers = headers or []
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    query_single: dict[str, str] = {}
    query_multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        query_single[name] = value
        query_multi.setdefault(name, []).append(value)
    proxy = path[len(spec.prefix.rstrip("/")) :].lstrip("/")
    resource = f"{spec.prefix}/{{proxy+}}" if proxy else spec.prefix
    encoded_body, is_base64 = _encode_body(body)
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query_single or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": {"proxy": proxy} if proxy else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method.upper(),
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "localhost",
            "identity": {"sourceIp": source_ip, "userAgent": single.get("user-agent", "")},
        },
        "body": encoded_body,
        "isBase64Encoded": is_base64,
    }


def _encode_body(body: bytes | None) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


@dataclass(frozen=True)
class ProxyResponse:
    """A Lambda proxy response, decoded for writing back over HTTP."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def from_lambda(cls, result: dict[str, Any]) -> ProxyResponse:
        headers: list[tuple[str, str]] = []
        multi = result.get("multiValueHeaders") or {}
        for name, values in multi.items():
            headers.extend((name, str(value)) for value in values)
        for name, value in (result.get("headers") or {}).items():
            if name not in multi:
                headers.append((name, str(value)))
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        return cls(status=int(result["statusCode"]), headers=headers, body=body)
