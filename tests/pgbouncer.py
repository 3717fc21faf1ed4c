"""Debian's PgBouncer in transaction mode in front of the test PostgreSQL, for tests and load runs.

`make test` installs it (`/usr/sbin/pgbouncer`), as it installs Chromium. It listens on a free
port of 127.0.0.1 with a generated config in a temporary folder; every database name is passed
through to the server at PG_ADMIN_URL, users are trusted (the test server trusts them too).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from servers import free_port
from sqlalchemy.engine import make_url

PGBOUNCER = "/usr/sbin/pgbouncer"


@dataclass(frozen=True)
class Pooler:
    """A running PgBouncer: where it listens, and the URL of a database through it."""

    host: str
    port: int
    pool_size: int
    process: subprocess.Popen[bytes]

    def url_for(self, direct_url: str) -> str:
        """`direct_url` (a database on the PostgreSQL server) reached through the pooler."""
        return make_url(direct_url).set(host=self.host, port=self.port).render_as_string(False)


def _config(server_url: str, port: int, folder: Path, pool_size: int) -> Path:
    server = make_url(server_url)
    user = server.username or "postgres"
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "\n".join(
            (
                "[databases]",
                f"* = host={server.host} port={server.port or 5432}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {folder / 'userlist.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {pool_size}",
                "max_client_conn = 2000",
                "max_db_connections = 0",
                # Quick to replace a terminated server connection.
                "server_login_retry = 1",
                "log_connections = 0",
                "log_disconnections = 0",
                "",
            )
        )
    )
    return ini


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def pgbouncer(
    server_url: str, folder: Path, *, pool_size: int = 4, port: int | None = None
) -> Iterator[Pooler]:
    """PgBouncer (transaction mode, `pool_size` server connections per database) until exit,
    on `port` (a free one if None)."""
    if shutil.which(PGBOUNCER) is None:
        raise RuntimeError(f"{PGBOUNCER} is missing: `make test` installs Debian's pgbouncer")
    port = port or free_port()
    ini = _config(server_url, port, folder, pool_size)
    command = [PGBOUNCER, "-q", str(ini)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        folder.chmod(0o755)
        for path in folder.iterdir():
            path.chmod(0o644)
        command[1:1] = ["-u", "nobody"]
    log = folder / "pgbouncer.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield Pooler("127.0.0.1", port, pool_size, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
