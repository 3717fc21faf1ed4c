"""Run by the cold start benchmarks in a fresh interpreter: what one Lambda cold start does.

`cold_start_probe.py <functions folder> <handler> <event>` (`probe_command` makes it) imports
the handler named as in the manifest (`orders.handler.handler`) from the folder holding the
functions, as Lambda's runtime imports it from the unzipped bundle, and answers the API
Gateway event, given as JSON as Lambda's runtime receives it. Reading the manifest and
building the event happen in the benchmark, not in the cold start being timed; of the local
tools, only the Lambda context is imported here. Exit status 0 only for a 200 answer with the
OpenAPI document still unbuilt (FastAPI makes it on the first request for it); then it prints
READY and the CPU time it has used so far. The benchmarks time the process, against a fresh
interpreter running their baseline import.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

from shopfn.lambda_context import LocalLambdaContext

#: Printed once the answer is checked: where a benchmark stops the cold start's clock.
READY = "cold-start-ready"
#: Python that prints READY with this process's CPU time so far (user + system, every
#: thread): a baseline command ends with it too, so both sides stop their clocks alike.
PRINT_READY = f"import time; print({READY!r}, time.process_time(), flush=True)"


def probe_command(function: str, path: str | None = None, authorization: str = "") -> list[str]:
    """The command that cold-starts `function` on one GET event: its health by default, or
    `path` with this `Authorization` header (issued by the benchmark, so signing a token is
    not part of the cold start)."""
    from shopfn.apigw import build_event
    from shopfn.manifest import load_manifest, project_root

    spec = load_manifest().get(function)
    headers = [("authorization", authorization)] if authorization else []
    event = build_event(spec, "GET", path or f"{spec.prefix}/health", headers=headers)
    folder = str(project_root() / "functions")
    return [sys.executable, os.path.abspath(__file__), folder, spec.handler, json.dumps(event)]


def main(folder: str, handler_path: str, event_text: str) -> int:
    sys.path.insert(0, folder)
    module_name, _, attribute = handler_path.rpartition(".")
    module = importlib.import_module(module_name)
    function = module_name.partition(".")[0]
    event = json.loads(event_text)
    reply = getattr(module, attribute)(event, LocalLambdaContext(f"shopfn-{function}"))
    if reply.get("statusCode") != 200:
        print(f"{function} {event['path']} answered {reply!r}", file=sys.stderr)
        return 1
    if module.app.openapi_schema is not None:
        print(f"{function} built its OpenAPI document at cold start", file=sys.stderr)
        return 1
    print(READY, time.process_time(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
