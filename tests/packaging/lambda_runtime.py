"""Which Python imports the bundles in tests: the Lambda runtime's 3.12 when present."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Runtime:
    """The interpreter the bundles are built for and imported by."""

    python: str
    version: str  # "3.12"


def lambda_python() -> Runtime:
    """Python 3.12 (the Lambda runtime's) when the machine has it, else this interpreter.

    Wheels are built for the interpreter that imports them, so a laptop without 3.12 still
    proves that each bundle imports on its own; CI's machine has 3.12 (pyenv).
    """
    candidates = [
        shutil.which("python3.12"),
        *sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.12*/bin/python3.12"))),
        "/usr/bin/python3.12",
        "/usr/local/bin/python3.12",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            probe = subprocess.run([candidate, "-c", "1"], check=False, capture_output=True)
            if probe.returncode == 0:
                return Runtime(candidate, "3.12")
    return Runtime(sys.executable, f"{sys.version_info.major}.{sys.version_info.minor}")
