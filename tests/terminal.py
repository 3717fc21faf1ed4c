"""Run a command with its stderr on a pseudo-terminal, as a person at a shell would see it."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    stdout: str
    terminal: str  # everything written to stderr, a terminal of 120 x 40


def run_on_terminal(
    command: Sequence[str], env: Mapping[str, str], timeout: float = 120
) -> TerminalRun:
    """`command` with stderr on a pty (so `isatty()` is true) and stdout on a pipe."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:  # read as it comes: a full pty buffer would block the command
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run(
            list(command),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=timeout,
            check=False,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    return TerminalRun(
        done.returncode, done.stdout.decode(), b"".join(chunks).decode(errors="replace")
    )
