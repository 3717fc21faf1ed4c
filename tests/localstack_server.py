"""LocalStack itself on 127.0.0.1, run on the host without Docker (shared by the local tests).

`make localstack` installs localstack-core into .tools/localstack (its own venv on Python 3.13:
its pins are not the project's); this module starts its runtime there as a subprocess.
Lambda needs Docker and stays out: the services are the ones the bootstrap and the APIs use.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from servers import ROOT, free_port

LOCALSTACK_PYTHON = ROOT / ".tools" / "localstack" / "bin" / "python"
SERVICES = ("s3", "secretsmanager", "events", "sqs")


def localstack_environment(workdir: Path, port: int) -> dict[str, str]:
    """Only what LocalStack needs: none of this process's AWS or DATA_DIR settings leak in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "SERVICES": ",".join(SERVICES),
        "EAGER_SERVICE_LOADING": "1",  # ready means every service answers at once
        "PERSISTENCE": "0",
        # This machine is a container itself: host mode keeps LocalStack's files under
        # FILESYSTEM_ROOT instead of /var/lib/localstack, shared with nobody.
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(workdir / "filesystem"),
        "CONFIG_DIR": str(workdir / "config"),
        # Offline: no DNS server (it would look up localstack.cloud), no analytics, no
        # certificate download.
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
    }


def _wait_until_ready(
    endpoint: str, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    """Return once every service in SERVICES reports available or running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"LocalStack exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            states = httpx.get(f"{endpoint}/_localstack/health", timeout=2).json()["services"]
            if all(states.get(name) in {"available", "running"} for name in SERVICES):
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.3)
    raise TimeoutError(f"LocalStack not ready in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to its own process group: its shutdown can hang for a minute,
    and with PERSISTENCE=0 it has nothing to save."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait()


@contextmanager
def localstack_endpoint(workdir: Path, timeout: float = 90) -> Iterator[str]:
    """Start LocalStack from .tools/localstack; yield its endpoint URL (for AWS_ENDPOINT_URL)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = localstack_environment(workdir, port)
    log = workdir / "localstack.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, for _stop
        )
    try:
        _wait_until_ready(endpoint, process, log, timeout)
        yield endpoint
    finally:
        _stop(process)
