"""Warm Lambda invocations reuse the process's database connection instead of opening new ones."""

from __future__ import annotations

from typing import Any

from support import LambdaClient, sign_up

WARM_CALLS = 50


def test_fifty_warm_calls_open_exactly_one_database_connection(
    client: LambdaClient, database: str
) -> None:
    from sqlalchemy import event

    from shop.db import get_engine, reset_engine, session_scope
    from shop.services.seed import seed_catalog

    shopper = sign_up(client)
    with session_scope() as session:
        seed_catalog(session)
    product_id = client.get("/products").json()["items"][0]["id"]
    # Reads, a signed-in read, a read that records a view event, and health, both functions.
    calls: list[tuple[str, str | None]] = [
        (f"/products/{product_id}", None),
        ("/users/me", shopper.access_token),
        (f"/products/{product_id}", shopper.access_token),
        ("/users/health", None),
        ("/products/health", None),
    ]
    reset_engine()  # the calls below start with no pooled connection
    connects: list[Any] = []

    def count_connect(dbapi_connection: Any, _record: Any) -> None:
        connects.append(dbapi_connection)

    engine = get_engine()
    event.listen(engine, "connect", count_connect)
    try:
        statuses = [
            client.get(path, token=token).status
            for path, token in (calls[i % len(calls)] for i in range(WARM_CALLS))
        ]
    finally:
        event.remove(engine, "connect", count_connect)

    assert statuses == [200] * WARM_CALLS
    assert len(connects) == 1, f"{len(connects)} connections opened on {database}"
