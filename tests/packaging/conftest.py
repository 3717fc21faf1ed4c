"""Build the Lambda bundles once per test session, for the interpreter that will import them."""

from __future__ import annotations

import glob
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from shopfn.build import BuildOptions, Bundle, build


@dataclass(frozen=True)
class Runtime:
    """The interpreter the bundles are built for and imported by."""

    python: str
    version: str  # "3.12"


def _lambda_python() -> Runtime:
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


@pytest.fixture(scope="session")
def runtime() -> Runtime:
    return _lambda_python()


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory, runtime: Runtime) -> dict[str, Bundle]:
    """Every bundle of the manifest, built with `shopfn build` (uv's wheel cache keeps it fast)."""
    out = tmp_path_factory.mktemp("build")
    built = build(BuildOptions(out=out, python_version=runtime.version))
    return {bundle.name if bundle.kind != "layer" else "@layer": bundle for bundle in built}


@pytest.fixture(scope="session")
def layer_site(bundles: dict[str, Bundle], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer unzipped once, as Lambda mounts it under /opt (its python/ folder)."""
    import zipfile

    target = tmp_path_factory.mktemp("opt")
    layer = bundles["@layer"].path
    assert layer is not None
    with zipfile.ZipFile(layer) as archive:
        archive.extractall(target)
    return target / "python"
