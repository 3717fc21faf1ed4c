"""`shopfn serve` runs the dashboard beside the APIs and takes it down on SIGTERM."""

from __future__ import annotations

import os
import signal

import httpx
import pytest
from servers import ServeProcess, free_port, wait_for_http

pytestmark = pytest.mark.e2e  # starts `shopfn serve` as a subprocess


def test_serve_starts_the_dashboard_and_stops_it_on_sigterm(tmp_path) -> None:
    dash = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "BCRYPT_ROUNDS": "4"}
    env.pop("DATABASE_URL", None)
    served = ServeProcess(tmp_path, env, options=("--dashboard-port", str(dash)))
    served.start()
    process = served.process
    assert process is not None
    try:
        wait_for_http(f"http://127.0.0.1:{dash}/_stcore/health", process=process)
        assert httpx.get(f"http://127.0.0.1:{dash}/_stcore/health").text == "ok"
        assert httpx.get(f"{served.commerce}/users/health").status_code == 200
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
