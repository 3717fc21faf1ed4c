"""The dashboard tests' platform: `shopfn serve` on free ports, and small waiting helpers."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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
