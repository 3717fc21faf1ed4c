"""Servers the tests start on 127.0.0.1: free ports, health polling, `shopfn serve` as a subprocess.

One place for what the e2e, dashboard, benchmark and load runs all need, so a change in how
`shopfn serve` starts or stops is made once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(
    url: str,
    *,
    timeout: float = 90.0,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    interval: float = 0.3,
) -> None:
    """Return once `url` answers below 500; fail early if `process` (its server) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"process serving {url} exited with {process.returncode}\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def serve_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    """This process's environment for a quiet test `shopfn serve` keeping its data in `data_dir`.

    DATABASE_URL and the admin settings are dropped unless given in `extra`, so a developer's
    own settings never leak into a test shop.
    """
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "test",
        "BCRYPT_ROUNDS": "4",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        **extra,
    }
    for name in ("DATABASE_URL", "ADMIN_EMAIL", "ADMIN_PASSWORD"):
        if name not in extra:
            env.pop(name, None)
    return env


@dataclass
class ServeProcess:
    """One `shopfn serve` subprocess on free ports, its output in `log`."""

    data_dir: Path
    env: Mapping[str, str]
    options: Sequence[str] = ("--no-dashboard",)
    log_path: Path | None = None
    commerce_port: int = field(default_factory=free_port)
    ml_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def commerce(self) -> str:
        return f"http://127.0.0.1:{self.commerce_port}"

    @property
    def ml(self) -> str:
        return f"http://127.0.0.1:{self.ml_port}"

    @property
    def log(self) -> Path:
        return self.log_path or self.data_dir / "serve.log"

    def launch(self) -> ServeProcess:
        """Spawn `shopfn serve`, its output to `log`, without waiting for anything."""
        command = [sys.executable, "-m", "shopfn.cli", "serve", *self.options]
        command += ["--commerce-port", str(self.commerce_port), "--ml-port", str(self.ml_port)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=dict(self.env), stdout=out, stderr=subprocess.STDOUT
            )
        return self

    def start(self, health: str = "/users/health", timeout: float = 90.0) -> ServeProcess:
        """Start the server and return once the Commerce API's `health` path answers."""
        self.launch()
        try:
            wait_for_http(
                f"{self.commerce}{health}", timeout=timeout, process=self.process, log=self.log
            )
        except BaseException:
            self.close()
            raise
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10) -> int:
        """Send `sig` and wait: the exit code (a process that hangs is killed, and that fails)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"serve ignored {sig.name}: {self.log.read_text()[-2000:]}"
            ) from None

    def close(self, timeout: float = 15) -> None:
        """Terminate the server if it still runs, killing it if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextmanager
def running_serve(
    served: ServeProcess,
    *,
    health: str = "/users/health",
    timeout: float = 90.0,
    stop_timeout: float = 15.0,
) -> Iterator[ServeProcess]:
    """`served` started and healthy for the `with` block, terminated afterwards."""
    try:
        yield served.start(health, timeout)
    finally:
        served.close(stop_timeout)


class ThreadedFake:
    """A fake third-party HTTP API on a free 127.0.0.1 port, served by a thread.

    The real SDKs (openai, stripe) talk to it over HTTP; subclasses give the handler class.
    """

    def _listen(self, handler_class: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`, where the fake listens."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
