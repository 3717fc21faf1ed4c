"""PostgreSQL failing under the shop, directly and through PgBouncer: every backend killed
mid-checkout, no database at a cold start, a statement past its timeout.

What must hold: the caller gets 503 problem+json with Retry-After (never 500), the shop
recovers by itself, and the database never holds half a checkout or a key used twice.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pgbouncer import pgbouncer
from servers import free_port
from shopping import add_to_cart, bulk_products, checkout, count_rows, stock_of
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from support import PG_ADMIN_URL, Account, LambdaClient, Reply, sign_up
from test_checkout_races import ordered_quantity, run_together

from shop.db import session_scope
from shop.models import IdempotencyRecord, InventoryMovement, Order, OrderItem

on_postgresql = pytest.mark.parametrize("database", ["postgresql", "pgbouncer"], indirect=True)


def _reset_engine() -> None:
    from shop.db import reset_engine
    from shop.settings import get_settings

    get_settings.cache_clear()
    reset_engine()


@contextmanager
def _settings(**values: str) -> Iterator[None]:
    """Environment settings for the shop's engine, restored (and the engine rebuilt) after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    _reset_engine()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _reset_engine()


def _direct_url() -> str:
    """The test database on the PostgreSQL server itself, even when the shop goes through
    PgBouncer: the lock holder and the killer must not be killed or queued."""
    server = make_url(PG_ADMIN_URL)
    shop = make_url(os.environ["DATABASE_URL"])
    return shop.set(host=server.host, port=server.port).render_as_string(False)


@contextmanager
def _product_row_locked(product_id: int) -> Iterator[sa.Connection]:
    """A direct connection holding the product's row lock until the block ends."""
    engine = sa.create_engine(_direct_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(
                sa.text("select id from products where id = :id for update"), {"id": product_id}
            )
            yield connection
            connection.rollback()
    finally:
        engine.dispose()


def _waiting_on_locks(admin: sa.Connection) -> int:
    admin.execute(sa.text("select pg_stat_clear_snapshot()"))  # fresh within the transaction
    return int(
        admin.execute(
            sa.text(
                "select count(*) from pg_stat_activity where datname = current_database()"
                " and wait_event_type = 'Lock'"
            )
        ).scalar_one()
    )


def _wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def _assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply.body
    assert reply.is_problem
    assert int(reply.headers["retry-after"]) >= 1
    assert "unexpected" not in reply.json()["detail"]


def _audit(products: list[int], stock_before: int) -> None:
    """No order without its stock taken, no stock taken without an order, one order per key."""
    for product in products:
        taken = stock_before - stock_of(product)
        assert taken == ordered_quantity(product)
        with session_scope() as session:
            moved = session.scalar(
                select(func.coalesce(func.sum(InventoryMovement.delta), 0)).where(
                    InventoryMovement.product_id == product, InventoryMovement.delta < 0
                )
            )
        assert -int(moved or 0) == taken
    with session_scope() as session:
        keyed = session.execute(
            select(IdempotencyRecord.order_id).where(IdempotencyRecord.state == "completed")
        ).all()
        orders = set(session.scalars(select(Order.id)))
        items = set(session.scalars(select(OrderItem.order_id)))
    assert len(keyed) == len({order_id for (order_id,) in keyed}) == len(orders)
    assert {order_id for (order_id,) in keyed} == orders == items


@on_postgresql
def test_every_backend_killed_mid_checkout_answers_503_and_loses_or_doubles_nothing(
    one_connection_per_thread: LambdaClient, database: str, request: pytest.FixtureRequest
) -> None:
    shop = one_connection_per_thread
    buyers = 12
    (product,) = bulk_products(1, stock=30)
    accounts = [sign_up(shop) for _ in range(buyers)]
    for account in accounts:
        assert add_to_cart(shop, account, product, 1).status == 201
    keys = {account.id: uuid.uuid4().hex for account in accounts}
    in_flight = buyers if database == "postgresql" else request.getfixturevalue("pooler").pool_size

    def buy(account: Account) -> Callable[[], Reply]:
        return lambda: checkout(LambdaClient(), account, key=keys[account.id])

    with _product_row_locked(product) as holder:
        results: list[Reply] = []
        racing = threading.Thread(
            target=lambda: results.extend(run_together([buy(a) for a in accounts]))
        )
        racing.start()
        _wait_until(lambda: _waiting_on_locks(holder) >= in_flight)
        holder.execute(
            sa.text(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                " where datname = current_database() and pid <> pg_backend_pid()"
            )
        )
    racing.join(120)
    assert not racing.is_alive()

    failed = [a for a, r in zip(accounts, results, strict=True) if r.status != 201]
    assert failed, "no request was in flight when the backends were killed"
    for reply in results:
        if reply.status != 201:
            _assert_unavailable(reply)
    # No restart: the same process retries each failed checkout with its own key.
    retried = [checkout(shop, account, key=keys[account.id]) for account in failed]
    assert [r.status for r in retried] == [201] * len(failed), [r.body for r in retried]
    assert count_rows(Order) == buyers
    _audit([product], 30)


@on_postgresql
def test_a_statement_past_its_timeout_answers_503_and_the_connection_stays(
    client: LambdaClient,
) -> None:
    (product,) = bulk_products(1, stock=5)
    buyer = sign_up(client)
    assert add_to_cart(client, buyer, product, 1).status == 201
    with _settings(DB_STATEMENT_TIMEOUT="0.5", DB_POOL_SIZE="1"):
        from shop.db import get_engine

        connects: list[Any] = []
        sa.event.listen(get_engine(), "connect", lambda *_: connects.append(1))
        key = uuid.uuid4().hex
        with _product_row_locked(product):
            started = time.monotonic()
            _assert_unavailable(checkout(client, buyer, key=key))
            assert time.monotonic() - started < 5
        placed = checkout(client, buyer, key=key)
        assert placed.status == 201, placed.body
        assert len(connects) == 1  # the timed-out statement's connection served the retry
    assert stock_of(product) == 4
    _audit([product], 5)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_no_database_at_a_cold_start_is_503_until_it_is_back(
    client: LambdaClient, tmp_path: Path
) -> None:
    (product,) = bulk_products(1, stock=5)
    port = free_port()  # nothing listens here until the pooler starts on it
    unreachable = make_url(os.environ["DATABASE_URL"]).set(port=port).render_as_string(False)
    with _settings(DATABASE_URL=unreachable, DB_CONNECT_TIMEOUT="1"):
        health = client.get("/orders/health")
        assert health.status == 503
        assert health.json()["database"] == "unreachable"
        assert health.json()["status"] == "degraded"
        _assert_unavailable(client.get(f"/products/{product}"))
        _assert_unavailable(
            client.post("/users/login", json={"email": "a@example.com", "password": "x" * 12})
        )
        with pgbouncer(PG_ADMIN_URL, tmp_path, port=port):  # the database is back
            assert client.get("/orders/health").status == 200
            assert client.get(f"/products/{product}").status == 200
            sign_up(client)
