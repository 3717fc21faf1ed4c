"""The short CI version of `make load-containers`: 16 containers (processes, a pool of 1 each)
share PgBouncer's 8 server connections for 8 s of browsing, carts and checkouts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "load" / "containers.py"


def test_many_containers_through_pgbouncer_sell_nothing_twice_and_answer_no_5xx() -> None:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--workers", "16", "--seconds", "8", "--routes", "pgbouncer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "load audit passed" in done.stdout
    assert "orders placed: 0" not in done.stdout, report  # checkouts really ran
