"""The Streamlit dashboard as a child process: `shopfn dashboard` and `shopfn serve` use it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

log = logging.getLogger("shopfn.dashboard")

DEFAULT_PORT = 5000


def dashboard_dir() -> Path:
    """The folder holding app.py and .streamlit/ (DASHBOARD_DIR overrides the repo's)."""
    override = os.environ.get("DASHBOARD_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "dashboard"


def api_url(host: str, port: int) -> str:
    """An address a client can call: a wildcard bind is reached via the loopback."""
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    return f"http://{reachable}:{port}"


class Dashboard:
    """Streamlit running `dashboard/app.py` on a port, stopped with the process that made it."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
        *,
        quiet: bool = False,
    ) -> None:
        self.port = port
        self.host = host
        self._env = env or {}
        self.quiet = quiet  # under `shopfn serve`'s console: Streamlit's warnings only
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return api_url(self.host, self.port)

    def start(self) -> None:
        folder = dashboard_dir()
        command = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(folder / "app.py"),
            "--server.port",
            str(self.port),
            "--server.address",
            self.host,
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ]
        if self.quiet:
            command += ["--logger.level", "warning"]
        # Streamlit reads .streamlit/config.toml from its working directory.
        env = {**os.environ, **self._env}
        self._process = subprocess.Popen(  # noqa: S603 - our own argv
            command, cwd=folder, env=env, stdout=subprocess.DEVNULL if self.quiet else None
        )
        if not self.quiet:  # under `shopfn serve`, its startup block shows the address
            log.info("dashboard on %s", self.url)

    def wait_healthy(self, timeout: float = 60.0) -> bool:
        """True once Streamlit answers its health check; False if it died or timed out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return True
            except OSError:
                time.sleep(0.3)
        return False

    def wait(self) -> int:
        return self._process.wait() if self._process else 0

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
