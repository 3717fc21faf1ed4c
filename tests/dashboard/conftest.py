"""The real platform for dashboard tests: `shopfn serve` as a subprocess on free ports.

The dashboard talks to it over HTTP exactly as in production; AppTest runs the Streamlit
scripts in-process against it, the browser test runs Streamlit itself.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dashboard" / "app.py"
ADMIN_EMAIL = "dash-admin@example.com"
ADMIN_PASSWORD = "dashboard-admin-pw"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    url: str, timeout: float = 90.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process serving {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


@dataclass
class Platform:
    commerce_url: str
    ml_url: str
    data_dir: Path
    log: Path

    def login(self, email: str, password: str) -> dict[str, Any]:
        """Session-state entries of a signed-in dashboard user (tokens and profile)."""
        pair = httpx.post(
            f"{self.commerce_url}/users/login", json={"email": email, "password": password}
        ).json()
        me = httpx.get(
            f"{self.commerce_url}/users/me",
            headers={"Authorization": f"Bearer {pair['access_token']}"},
        ).json()
        return {
            "access_token": pair["access_token"],
            "refresh_token": pair["refresh_token"],
            "user": me,
        }

    def sign_up(self, email: str, password: str = "shopper-pw-1", name: str = "Sam Shopper"):
        reply = httpx.post(
            f"{self.commerce_url}/users/register",
            json={"email": email, "password": password, "full_name": name},
        )
        assert reply.status_code == 201, reply.text
        return self.login(email, password)

    def get(self, path: str, state: dict[str, Any], **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {state['access_token']}"}
        return httpx.get(f"{self.commerce_url}{path}", headers=headers, params=params)

    def post(self, path: str, state: dict[str, Any], json: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {state['access_token']}"}
        return httpx.post(f"{self.commerce_url}{path}", headers=headers, json=json)


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
