"""The real platform for dashboard tests: `shopfn serve` as a subprocess on free ports.

The dashboard talks to it over HTTP exactly as in production; AppTest runs the Streamlit
scripts in-process against it, the browser test runs Streamlit itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dashboard_platform import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    APP,
    ROOT,
    Platform,
    free_port,
    wait_for,
)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("dashboard-data")
    commerce, ml = free_port(), free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "test",
        "BCRYPT_ROUNDS": "4",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    log = data_dir / "serve.log"
    command = [
        sys.executable,
        "-m",
        "shopfn.cli",
        "serve",
        "--commerce-port",
        str(commerce),
        "--ml-port",
        str(ml),
        "--no-dashboard",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{commerce}/users/health", process=process)
        yield Platform(f"http://127.0.0.1:{commerce}", f"http://127.0.0.1:{ml}", data_dir, log)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def api_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("COMMERCE_API_URL", platform.commerce_url)
    monkeypatch.setenv("ML_API_URL", platform.ml_url)
    return platform


@pytest.fixture
def admin_state(platform: Platform) -> dict[str, Any]:
    return platform.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def shopper_state(platform: Platform) -> dict[str, Any]:
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    return platform.sign_up(email)


@pytest.fixture
def make_app(api_env: Platform) -> Callable[..., Any]:
    """An AppTest of the dashboard, optionally signed in, already run once."""
    from streamlit.testing.v1 import AppTest

    def make(state: dict[str, Any] | None = None, page: str | None = None) -> AppTest:
        app = AppTest.from_file(str(APP), default_timeout=60)
        for key, value in (state or {}).items():
            app.session_state[key] = value
        app.run()
        if page:
            app.switch_page(page)
            app.run()
        return app

    return make
