"""Build the Lambda bundles once per test session, for the interpreter that will import them."""

from __future__ import annotations

from pathlib import Path

import pytest
from lambda_runtime import Runtime, lambda_python

from shopfn.build import BuildOptions, Bundle, build


@pytest.fixture(scope="session")
def runtime() -> Runtime:
    return lambda_python()


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
