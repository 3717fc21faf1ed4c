"""The real platform for dashboard tests: `shopfn serve` as a subprocess on free ports.

The dashboard talks to it over HTTP exactly as in production; AppTest runs the Streamlit
scripts in-process against it, the browser test runs Streamlit itself.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from dashboard_platform import ADMIN_EMAIL, ADMIN_PASSWORD, APP, Platform
from servers import ServeProcess, running_serve, serve_environment

sys.path.insert(0, str(APP.parent))  # `shopui`, as the app itself finds it


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    data_dir = tmp_path_factory.mktemp("dashboard-data")
    env = serve_environment(data_dir, ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD)
    with running_serve(ServeProcess(data_dir, env)) as served:
        yield Platform(served.commerce, served.ml, data_dir, served.log)


@pytest.fixture
def api_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    monkeypatch.setenv("COMMERCE_API_URL", platform.commerce_url)
    monkeypatch.setenv("ML_API_URL", platform.ml_url)
    return platform


@pytest.fixture
def admin_state(platform: Platform) -> dict[str, Any]:
    return platform.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def shopper_state(platform: Platform) -> dict[str, Any]:
    email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
    return platform.sign_up(email)


@pytest.fixture
def make_app(api_env: Platform) -> Callable[..., Any]:
    """An AppTest of the dashboard, optionally signed in, already run once."""
    from streamlit.testing.v1 import AppTest

    def make(state: dict[str, Any] | None = None, page: str | None = None) -> AppTest:
        app = AppTest.from_file(str(APP), default_timeout=60)
        for key, value in (state or {}).items():
            app.session_state[key] = value
        app.run()
        if page:
            app.switch_page(page)
            app.run()
        return app

    return make
