"""LocalStack for the local tests: one server per test run, shared by every module."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from localstack_server import LOCALSTACK_PYTHON, localstack_endpoint


@pytest.fixture(scope="session")
def localstack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LocalStack's endpoint URL; skipped on a machine without it, an error in CI."""
    if not LOCALSTACK_PYTHON.exists():
        message = f"no LocalStack in {LOCALSTACK_PYTHON.parent.parent}: run `make localstack`"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (it needs Python 3.13)")
        pytest.skip(message)
    with localstack_endpoint(tmp_path_factory.mktemp("localstack")) as endpoint:
        yield endpoint
