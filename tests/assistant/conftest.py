"""Fixtures for the support assistant: the fake OpenAI server and settings switched per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chatting import API_KEY, reconfigure
from fake_openai import FakeOpenAI


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Set environment variables for one test; settings are re-read before and after."""
    yield monkeypatch
    monkeypatch.undo()
    reconfigure()


@pytest.fixture
def model(fake_server: FakeOpenAI, settings_env: pytest.MonkeyPatch) -> FakeOpenAI:
    """The fake server, emptied, with the platform configured to use it."""
    fake_server.reset()
    settings_env.setenv("OPENAI_API_KEY", API_KEY)
    settings_env.setenv("OPENAI_BASE_URL", fake_server.base_url)
    settings_env.setenv("OPENAI_TIMEOUT_SECONDS", "5")
    reconfigure()
    return fake_server
