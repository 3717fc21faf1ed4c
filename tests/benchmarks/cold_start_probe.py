"""Run by test_cold_start in a fresh interpreter: what one Lambda cold start does.

`cold_start_probe.py <function>` imports that function's handler module through the local
loader (as `shopfn serve` does) and answers one API Gateway health event; exit status 0
only for a 200 answer with the OpenAPI document still unbuilt (FastAPI makes it on the first
request for it). The benchmark times the whole process, against a fresh interpreter running
`import fastapi`.
"""

from __future__ import annotations

import sys

from shopfn.apigw import build_event
from shopfn.lambda_context import LocalLambdaContext
from shopfn.loader import load_app, load_handler
from shopfn.manifest import load_manifest


def main(name: str) -> int:
    spec = load_manifest().get(name)
    handler = load_handler(spec)
    event = build_event(spec, "GET", f"{spec.prefix}/health")
    reply = handler(event, LocalLambdaContext(function_name=f"shopfn-{name}"))
    if reply.get("statusCode") != 200:
        print(f"{name} health answered {reply!r}", file=sys.stderr)
        return 1
    if load_app(spec).openapi_schema is not None:
        print(f"{name} built its OpenAPI document at cold start", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
