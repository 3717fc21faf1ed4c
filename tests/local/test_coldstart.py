"""Building a function at cold start: every function answers its health event, and the
objects the build made are frozen out of the collector's sweeps, which stays on."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

from support import run_python_script

SCRIPT = textwrap.dedent(
    """
    import gc, json
    from shopfn.apigw import build_event
    from shopfn.lambda_context import LocalLambdaContext
    from shopfn.loader import load_handler
    from shopfn.manifest import load_manifest

    statuses = {}
    for spec in load_manifest().functions:
        handler = load_handler(spec)
        event = build_event(spec, "GET", f"{spec.prefix}/health")
        reply = handler(event, LocalLambdaContext(function_name=spec.name))
        statuses[spec.name] = reply["statusCode"]
    print(json.dumps(
        {"statuses": statuses, "frozen": gc.get_freeze_count(), "collector": gc.isenabled()}
    ))
    """
)


def test_every_function_builds_with_its_objects_frozen_and_the_collector_back_on(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "POWERTOOLS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    answer = run_python_script(SCRIPT, env=env)
    assert set(answer["statuses"].values()) == {200}, answer
    assert answer["frozen"] > 100_000, answer  # FastAPI, SQLAlchemy and the models
    assert answer["collector"] is True
