"""Throttles hold under concurrency: parallel requests cannot all slip in under a limit."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import LambdaClient, Reply, sign_up

PARALLEL = 30


def in_parallel(call: Callable[[], Reply]) -> Counter[int]:
    """The statuses of PARALLEL calls released together."""
    start = threading.Barrier(PARALLEL)

    def one(_: int) -> int:
        start.wait()
        return call().status

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return Counter(pool.map(one, range(PARALLEL)))


def test_parallel_wrong_passwords_get_at_most_five_tries(
    one_connection_per_thread: LambdaClient,
) -> None:
    client = one_connection_per_thread
    victim = sign_up(client)
    body = {"email": victim.email, "password": "not the password"}

    statuses = in_parallel(lambda: client.post("/users/login", json=body))

    assert statuses[401] == 5, statuses
    assert statuses[429] == PARALLEL - 5, statuses


def test_parallel_chats_from_one_address_stay_within_its_limit(
    one_connection_per_thread: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.settings import get_settings

    monkeypatch.setenv("SUPPORT_RATE_LIMIT_PER_ADDRESS", "5")
    get_settings.cache_clear()
    client = LambdaClient(source_ip="198.51.100.20")
    try:
        statuses = in_parallel(lambda: client.post("/support/chat", json={"message": "hello"}))
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert statuses == {200: 5, 429: PARALLEL - 5}, statuses


def test_parallel_chats_of_one_user_stay_within_their_limit(
    one_connection_per_thread: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.settings import get_settings

    shopper = sign_up(one_connection_per_thread)
    monkeypatch.setenv("SUPPORT_RATE_LIMIT_PER_USER", "4")
    get_settings.cache_clear()
    addresses = iter(f"198.51.100.{n}" for n in range(100, 100 + PARALLEL))
    lock = threading.Lock()

    def from_next_address() -> Reply:
        with lock:
            client = LambdaClient(source_ip=next(addresses))
        body = {"message": "where is my order"}
        return client.post("/support/chat", json=body, token=shopper.access_token)

    try:
        statuses = in_parallel(from_next_address)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert statuses == {200: 4, 429: PARALLEL - 4}, statuses
