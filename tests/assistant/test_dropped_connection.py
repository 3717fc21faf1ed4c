"""A chat after the database dropped the container's idle pooled connection still answers.

Pooled connections are pinged only after sitting idle (a frozen Lambda's connection may be
gone); this proves the ping replaces a dead one instead of failing the customer's turn.
"""

from __future__ import annotations

import pytest
from chatting import chat
from support import LambdaClient

server_backends = pytest.mark.parametrize("database", ["postgresql", "mariadb"], indirect=True)

BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mariadb": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend({id})", "mariadb": "KILL {id}"}


def _drop_pooled_connection(backend: str) -> None:
    """Kill, from another connection, the one connection the chat's pool holds."""
    from sqlalchemy import create_engine, text

    from shop.db import get_engine

    engine = get_engine()
    with engine.connect() as pooled:
        backend_id = int(pooled.execute(text(BACKEND_ID[backend])).scalar_one())
    assert engine.pool.checkedin() == 1
    killer = create_engine(engine.url)
    try:
        with killer.connect() as conn:
            conn.execute(text(KILL[backend].format(id=backend_id)))
    finally:
        killer.dispose()


@server_backends
def test_a_chat_after_the_idle_connection_was_dropped_is_answered(
    client: LambdaClient, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shop.db

    shop.db.get_engine().dispose()  # earlier tests may have left several pooled connections
    assert chat(client, "What is your return policy?").status == 200
    _drop_pooled_connection(database)
    monkeypatch.setattr(shop.db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle "long"

    answer = chat(client, "And shipping?")

    assert answer.status == 200, answer.body
    assert answer.json()["reply"]
