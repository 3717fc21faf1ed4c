"""Building a function at cold start skips what no request needs, and keeps FastAPI's checks."""

from __future__ import annotations

import os
import textwrap
import warnings
from pathlib import Path

import pytest
from support import run_python_script

SCRIPT = textwrap.dedent(
    """
    import json, sys
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
    print(json.dumps({"statuses": statuses, "v1": "pydantic.v1" in sys.modules}))
    """
)


def test_no_function_imports_pydantic_v1_to_build_or_answer(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "POWERTOOLS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    answer = run_python_script(SCRIPT, env=env)
    assert set(answer["statuses"].values()) == {200}, answer
    assert answer["v1"] is False


def test_a_pydantic_v1_model_is_still_refused_once_v1_is_imported() -> None:
    from fastapi import APIRouter
    from fastapi.exceptions import FastAPIError

    from shop.coldstart import building_function

    with building_function():
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydantic import v1

    class Old(v1.BaseModel):
        name: str

    router = APIRouter()
    with pytest.raises(FastAPIError, match=r"pydantic\.v1"):

        @router.get("/old", response_model=Old)
        def old() -> Old:
            return Old(name="x")
