"""Run by the cold start benchmarks in a fresh interpreter: what one Lambda cold start does.

`cold_start_probe.py <function> [<path>]` imports that function's handler module through the
local loader (as `shopfn serve` does) and answers one API Gateway GET event: the function's
health by default, or `<path>` sent with the `Authorization` header in PROBE_AUTHORIZATION
(issued by the benchmark, so signing a token is not part of the cold start). Exit status 0
only for a 200 answer with the OpenAPI document still unbuilt (FastAPI makes it on the first
request for it); then it prints READY and the CPU time it has used so far.
The benchmarks time the process, against a fresh interpreter running their baseline import.
"""

from __future__ import annotations

import os
import sys
import time

from shopfn.apigw import build_event
from shopfn.lambda_context import LocalLambdaContext
from shopfn.loader import load_app, load_handler
from shopfn.manifest import load_manifest

#: Printed once the answer is checked: where a benchmark stops the cold start's clock.
READY = "cold-start-ready"
#: Python that prints READY with this process's CPU time so far (user + system, every
#: thread): a baseline command ends with it too, so both sides stop their clocks alike.
PRINT_READY = f"import time; print({READY!r}, time.process_time(), flush=True)"


def main(name: str, path: str | None = None) -> int:
    spec = load_manifest().get(name)
    handler = load_handler(spec)
    authorization = os.environ.get("PROBE_AUTHORIZATION")
    headers = [("authorization", authorization)] if authorization else []
    event = build_event(spec, "GET", path or f"{spec.prefix}/health", headers=headers)
    reply = handler(event, LocalLambdaContext(function_name=f"shopfn-{name}"))
    if reply.get("statusCode") != 200:
        print(f"{name} {event['path']} answered {reply!r}", file=sys.stderr)
        return 1
    if load_app(spec).openapi_schema is not None:
        print(f"{name} built its OpenAPI document at cold start", file=sys.stderr)
        return 1
    print(READY, time.process_time(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
