"""A database error is logged without the statement's values: no e-mail address, password
hash, token or chat text ever reaches the logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from support import LambdaClient, sign_up

SECRET_CHAT = "my card number is 4111 1111 1111 1111, please help"


@pytest.fixture
def shop_log(client: LambdaClient) -> Iterator[io.StringIO]:
    """What the functions log, formatted as their Powertools logger writes it."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    # A function's first load sets the `shop` logger's handlers: load one before adding ours.
    assert client.get("/users/health").status == 200

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LambdaPowertoolsFormatter())
    shop = logging.getLogger("shop")
    shop.addHandler(handler)
    yield stream
    shop.removeHandler(handler)


@pytest.fixture
def failing_insert(monkeypatch: pytest.MonkeyPatch, db: str) -> Any:
    """`fail(table)`: every INSERT into `table` then fails as a lost connection would."""
    from shop.db import get_engine

    dialect = get_engine().dialect
    original = dialect.do_execute

    def fail(table: str) -> None:
        def do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
            if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
                raise dialect.loaded_dbapi.OperationalError("forced failure for the test")
            original(cursor, statement, parameters, context)

        monkeypatch.setattr(dialect, "do_execute", do_execute)

    return fail


def assert_clean(log: str, *secrets: str) -> None:
    assert "forced failure for the test" in log  # the error itself was logged
    for secret in secrets:
        assert secret.lower() not in log.lower(), secret
    assert "$2b$" not in log and "parameters:" not in log.replace("parameters hidden", "")


def test_a_failed_registration_logs_no_address_or_password_hash(
    client: LambdaClient, failing_insert: Any, shop_log: io.StringIO
) -> None:
    failing_insert("users")
    email = "private.person@example.com"
    reply = client.post(
        "/users/register",
        json={"email": email, "password": "a very secret 1", "full_name": "Private Person"},
    )
    assert reply.status == 503 and reply.is_problem  # a database failure: retry later
    assert_clean(shop_log.getvalue(), email, "a very secret 1", "Private Person")


def test_a_failed_chat_logs_no_chat_text_or_token(
    client: LambdaClient, failing_insert: Any, shop_log: io.StringIO
) -> None:
    shopper = sign_up(client)
    failing_insert("support_messages")
    reply = client.post("/support/chat", json={"message": SECRET_CHAT}, token=shopper.access_token)
    assert reply.status == 503 and reply.is_problem
    assert_clean(shop_log.getvalue(), SECRET_CHAT, "4111", shopper.access_token, shopper.email)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_server_error_that_quotes_a_value_is_logged_by_its_code(
    client: LambdaClient, shop_log: io.StringIO, monkeypatch: pytest.MonkeyPatch, db: str
) -> None:
    """PostgreSQL quotes the value it could not take in its own message: the log line gives
    the error's SQLSTATE and statement instead, so the address never reaches the log."""
    from shop.db import get_engine

    dialect = get_engine().dialect
    original = dialect.do_execute

    def do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO USERS "):
            email = next(p for p in parameters if isinstance(p, str) and "@" in p)
            original(cursor, "SELECT CAST(%s AS integer)", (email,), context)  # 22P02
        original(cursor, statement, parameters, context)

    monkeypatch.setattr(dialect, "do_execute", do_execute)
    email = "quoted.person@example.com"
    reply = client.post(
        "/users/register",
        json={"email": email, "password": "a very secret 1", "full_name": "Quoted Person"},
    )
    assert reply.status == 503 and reply.is_problem
    log = shop_log.getvalue()
    assert '"code":"22P02"' in log and "INSERT INTO users" in log, log
    assert email not in log and "quoted.person" not in log, log
