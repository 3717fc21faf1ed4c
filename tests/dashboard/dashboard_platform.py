"""The dashboard tests' platform: the running `shopfn serve` and its signed-in users."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from servers import ROOT

APP = ROOT / "dashboard" / "app.py"
ADMIN_EMAIL = "dash-admin@example.com"
ADMIN_PASSWORD = "dashboard-admin-pw"


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
