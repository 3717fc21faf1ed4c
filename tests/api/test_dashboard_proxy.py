"""The dashboard's forwarded browser address: believed with the shared secret, else ignored.

Every shopper on the dashboard reaches the API from the dashboard's server; without the
forwarded address, a stranger's wrong guesses there would lock the owner out of the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import select
from support import LambdaClient, sign_up

from shop.db import session_scope
from shop.models import LoginFailure

SECRET = "proxy-secret-for-tests-only"
DASHBOARD_IP = "10.0.5.20"  # the dashboard server: every request arrives from here


def _reread_settings() -> None:
    from shop.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Environment for one test, settings re-read before and after."""
    monkeypatch.delenv("DASHBOARD_PROXY_SECRET", raising=False)
    monkeypatch.delenv("DASHBOARD_PROXY_SECRET_ARN", raising=False)
    _reread_settings()
    yield monkeypatch
    monkeypatch.undo()
    _reread_settings()


@pytest.fixture
def with_secret(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("DASHBOARD_PROXY_SECRET", SECRET)
    _reread_settings()


def via_dashboard(browser_ip: str, secret: str | None = SECRET) -> LambdaClient:
    headers = {"X-Shopfn-Client-Address": browser_ip}
    if secret is not None:
        headers["X-Shopfn-Proxy-Secret"] = secret
    return LambdaClient(source_ip=DASHBOARD_IP, default_headers=headers)


def login(client: LambdaClient, email: str, password: str) -> int:
    return client.post("/users/login", json={"email": email, "password": password}).status


def failure_addresses(email: str) -> list[str | None]:
    with session_scope() as session:
        rows = session.scalars(select(LoginFailure.address).where(LoginFailure.email == email))
        return sorted(rows)


def test_a_strangers_guesses_on_the_dashboard_lock_out_only_the_strangers_browser(
    client: LambdaClient, with_secret: None
) -> None:
    owner = sign_up(client)
    stranger = via_dashboard("203.0.113.10")
    assert [login(stranger, owner.email, "guess") for _ in range(5)] == [401] * 5
    assert login(stranger, owner.email, owner.password) == 429
    assert failure_addresses(owner.email) == ["addr:203.0.113.10"] * 5
    assert login(via_dashboard("198.51.100.7"), owner.email, owner.password) == 200


#: Headers the API must ignore, by the forwarded address of the n-th guess: if it believed
#: them, each guess would come from its own address and nothing would ever lock.
IGNORED: dict[str, Callable[[int], LambdaClient]] = {
    "wrong secret": lambda n: via_dashboard(f"203.0.113.{n}", secret="not-" + SECRET),
    "secret of another length": lambda n: via_dashboard(f"203.0.113.{n}", secret="x"),
    "no secret": lambda n: via_dashboard(f"203.0.113.{n}", secret=None),
    "not an IP": lambda n: via_dashboard(f"browser-{n}.example"),
    "a list of IPs": lambda n: via_dashboard(f"203.0.113.{n}, 198.51.100.1"),
}


@pytest.mark.parametrize("case", IGNORED)
def test_without_the_right_secret_and_an_ip_the_real_source_counts(
    client: LambdaClient, with_secret: None, case: str
) -> None:
    owner = sign_up(client)
    for n in range(5):
        assert login(IGNORED[case](n), owner.email, "guess") == 401
    assert failure_addresses(owner.email) == [f"addr:{DASHBOARD_IP}"] * 5
    assert login(LambdaClient(source_ip=DASHBOARD_IP), owner.email, owner.password) == 429
    assert login(LambdaClient(source_ip="198.51.100.8"), owner.email, owner.password) == 200


def test_with_no_secret_configured_the_headers_are_ignored(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    owner = sign_up(client)
    for n in range(5):
        assert login(via_dashboard(f"203.0.113.{n}", secret=""), owner.email, "guess") == 401
    assert failure_addresses(owner.email) == [f"addr:{DASHBOARD_IP}"] * 5


@pytest.fixture
def fake_aws(settings_env: pytest.MonkeyPatch) -> Iterator[None]:
    """Secrets Manager as moto fakes it, with credentials that could reach nothing real."""
    for name, value in {
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }.items():
        settings_env.setenv(name, value)
    settings_env.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def use_secret_arn(settings_env: pytest.MonkeyPatch, arn: str) -> None:
    settings_env.setenv("DASHBOARD_PROXY_SECRET_ARN", arn)
    _reread_settings()


def test_the_secret_is_read_from_secrets_manager_in_aws(
    client: LambdaClient, settings_env: pytest.MonkeyPatch, fake_aws: None
) -> None:
    """DASHBOARD_PROXY_SECRET_ARN, as the stack sets it: read once, then forwarding works."""
    owner = sign_up(client)
    created = boto3.client("secretsmanager").create_secret(
        Name="shopfn-test/dashboard-proxy", SecretString=SECRET
    )
    use_secret_arn(settings_env, created["ARN"])
    assert login(via_dashboard("203.0.113.20"), owner.email, "guess") == 401
    assert failure_addresses(owner.email) == ["addr:203.0.113.20"]


def test_an_unreadable_secret_turns_forwarding_off_instead_of_failing_sign_in(
    client: LambdaClient, settings_env: pytest.MonkeyPatch, fake_aws: None
) -> None:
    owner = sign_up(client)
    use_secret_arn(settings_env, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing")
    reply = via_dashboard("203.0.113.21").post(
        "/users/login", json={"email": owner.email, "password": "guess"}
    )
    assert reply.status == 401 and reply.is_problem
    assert failure_addresses(owner.email) == [f"addr:{DASHBOARD_IP}"]
    signed_in = via_dashboard("203.0.113.21").post(
        "/users/login", json={"email": owner.email, "password": owner.password}
    )
    assert signed_in.status == 200 and signed_in.json()["access_token"]
