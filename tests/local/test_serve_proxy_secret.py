"""`shopfn serve` gives the in-process functions and the dashboard one proxy secret."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch):
    from shop.settings import get_settings

    # Set, then removed: undo then removes what `shopfn serve` writes to os.environ too.
    monkeypatch.setenv("DASHBOARD_PROXY_SECRET", "")
    monkeypatch.delenv("DASHBOARD_PROXY_SECRET")
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def test_an_unset_secret_is_generated_once_and_seen_by_the_functions(clean_env) -> None:
    from shop.http.dashboard_proxy import forwarded_address
    from shopfn.serve import share_dashboard_proxy_secret

    secret = share_dashboard_proxy_secret()
    assert len(secret) >= 40 and os.environ["DASHBOARD_PROXY_SECRET"] == secret
    assert share_dashboard_proxy_secret() == secret  # a restart of the dashboard, same run
    headers = {"x-shopfn-client-address": "203.0.113.4", "x-shopfn-proxy-secret": secret}
    assert forwarded_address(headers) == "203.0.113.4"


def test_a_secret_from_the_environment_is_kept(clean_env) -> None:
    from shopfn.serve import share_dashboard_proxy_secret

    clean_env.setenv("DASHBOARD_PROXY_SECRET", "from-the-operator")
    assert share_dashboard_proxy_secret() == "from-the-operator"


def test_two_runs_get_different_secrets(clean_env) -> None:
    from shopfn.serve import share_dashboard_proxy_secret

    first = share_dashboard_proxy_secret()
    clean_env.delenv("DASHBOARD_PROXY_SECRET")
    assert share_dashboard_proxy_secret() != first
