"""Chat throttling: per user and per client address, 429 with Retry-After."""

from __future__ import annotations

import pytest
from chatting import chat, configure
from support import LambdaClient, sign_up


def test_a_user_over_the_limit_gets_429_with_retry_after(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, support_rate_limit_per_user=2, support_rate_window_seconds=60)
    shopper, other = sign_up(client), sign_up(client)

    statuses = [chat(client, "hi", account=shopper, source_ip=f"10.0.0.{n}").status for n in (1, 2)]
    refused = chat(client, "hi", account=shopper, source_ip="10.0.0.3")

    assert statuses == [200, 200]
    assert refused.status == 429 and refused.is_problem
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    assert chat(client, "hi", account=other, source_ip="10.0.0.4").status == 200


def test_an_address_over_the_limit_gets_429_whatever_x_forwarded_for_says(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, support_rate_limit_per_address=2)

    for _ in range(2):
        assert chat(client, "hi", source_ip="203.0.113.7").status == 200
    spoofed = chat(
        client, "hi", source_ip="203.0.113.7", headers={"x-forwarded-for": "198.51.100.1"}
    )

    assert spoofed.status == 429 and "retry-after" in spoofed.headers
    assert chat(client, "hi", source_ip="203.0.113.8").status == 200


def test_one_ipv6_network_shares_one_budget(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, support_rate_limit_per_address=1)

    assert chat(client, "hi", source_ip="2001:db8:1:2::1").status == 200
    assert chat(client, "hi", source_ip="2001:db8:1:2::ffff").status == 429
    assert chat(client, "hi", source_ip="2001:db8:1:3::1").status == 200


def test_a_refused_chat_stores_nothing(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    from shopping import count_rows

    from shop.models import ConversationMessage

    configure(settings_env, support_rate_limit_per_address=1)
    chat(client, "hi", source_ip="192.0.2.1")

    assert chat(client, "hi again", source_ip="192.0.2.1").status == 429
    assert count_rows(ConversationMessage) == 2


def test_shoppers_on_the_dashboard_each_have_their_own_address_budget(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    """The dashboard calls from one server; with the shared secret its forwarded browser
    address counts, and without it the headers change nothing."""
    configure(settings_env, support_rate_limit_per_address=1, dashboard_proxy_secret="s3cret")

    def from_browser(ip: str, secret: str = "s3cret") -> int:
        headers = {"x-shopfn-client-address": ip, "x-shopfn-proxy-secret": secret}
        return chat(client, "hi", source_ip="10.0.9.9", headers=headers).status

    assert from_browser("203.0.113.30") == 200
    assert from_browser("203.0.113.30") == 429
    assert from_browser("203.0.113.31") == 200
    assert from_browser("203.0.113.32", secret="guessed") == 200  # counted on 10.0.9.9
    assert from_browser("203.0.113.33", secret="guessed") == 429
    assert chat(client, "hi", source_ip="10.0.9.9").status == 429
