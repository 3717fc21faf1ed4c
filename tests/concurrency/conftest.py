"""Concurrency tests: a connection pool big enough that every thread holds its own connection."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def one_connection_per_thread(client: object) -> Iterator[object]:
    """The `client`, with a pool of 40 connections so no thread waits for another's."""
    from shop.db import reset_engine
    from shop.settings import get_settings

    saved = os.environ.get("DB_POOL_SIZE")
    os.environ["DB_POOL_SIZE"] = "40"
    get_settings.cache_clear()
    reset_engine()
    yield client
    if saved is None:
        os.environ.pop("DB_POOL_SIZE", None)
    else:
        os.environ["DB_POOL_SIZE"] = saved
    get_settings.cache_clear()
    reset_engine()
