"""`shopfn serve` runs the dashboard beside the APIs and takes it down on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
from dashboard_platform import ROOT, free_port, wait_for

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess


def test_serve_starts_the_dashboard_and_stops_it_on_sigterm(tmp_path) -> None:
    commerce, ml, dash = free_port(), free_port(), free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "BCRYPT_ROUNDS": "4"}
    env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "shopfn.cli",
        "serve",
        "--commerce-port",
        str(commerce),
        "--ml-port",
        str(ml),
        "--dashboard-port",
        str(dash),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(f"http://127.0.0.1:{dash}/_stcore/health", process=process)
        assert httpx.get(f"http://127.0.0.1:{dash}/_stcore/health").text == "ok"
        assert httpx.get(f"http://127.0.0.1:{commerce}/users/health").status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        try:
            httpx.get(f"http://127.0.0.1:{dash}/_stcore/health", timeout=2)
            still_up = True
        except httpx.HTTPError:
            still_up = False
        assert not still_up, "the dashboard outlived `shopfn serve`"
    finally:
        if process.poll() is None:
            process.kill()
