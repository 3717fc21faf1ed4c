"""A function's API schemas are built on first use: a health check builds none of them, and
a first request that needs one validates as before, with nothing printed about it.

Each case runs in a fresh interpreter, as a Lambda container starts, and reads the child's
stderr as CloudWatch would get it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: Run in the child: the users function answers a health check, then a login with a body
#: it must refuse; after the health check, which of the function's schema classes are built.
CHILD = """
import base64, json, sys
from pydantic import BaseModel
from shopfn.apigw import build_event
from shopfn.lambda_context import LocalLambdaContext
from shopfn.loader import load_handler, module_name
from shopfn.manifest import load_manifest

spec = load_manifest().get("users")
handler = load_handler(spec)
context = LocalLambdaContext(function_name="shopfn-users")
prefix = module_name(spec) + "."


def schemas():
    return {
        name: value.__pydantic_complete__
        for module_key, module in list(sys.modules.items())
        if module_key.startswith(prefix)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
        and value.__module__ == module_key
    }


health = handler(build_event(spec, "GET", "/users/health"), context)
after_health = schemas()
login = handler(
    build_event(spec, "POST", "/users/login", headers=[("content-type", "application/json")],
                body=json.dumps({"email": "someone@example.com"}).encode()),
    context,
)
body = base64.b64decode(login["body"]) if login["isBase64Encoded"] else login["body"]
print(json.dumps({"health": health["statusCode"], "after_health": after_health,
                  "login": login["statusCode"], "login_body": json.loads(body)}))
"""


def test_a_health_check_builds_no_schema_and_a_first_request_builds_its_own_quietly(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": "", "PYTHONWARNINGS": ""}
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["health"] == 200
    assert {"LoginIn", "RegisterIn", "UserOut"} <= set(result["after_health"])
    built = [name for name, complete in result["after_health"].items() if complete]
    assert built == []
    # The login body lacks its password: refused with the usual problem, the schema now built.
    assert result["login"] == 422
    assert result["login_body"]["status"] == 422
    assert any(error["loc"] == ["body", "password"] for error in result["login_body"]["errors"])
    assert "Warning" not in done.stderr, done.stderr
