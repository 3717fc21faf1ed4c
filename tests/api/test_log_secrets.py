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
    # `shop` does not propagate; the root logger gets every other library's lines
    loggers = [logging.getLogger("shop"), logging.getLogger()]
    for logger in loggers:
        logger.addHandler(handler)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


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


@pytest.fixture
def registration_race(db: str) -> Any:
    """`race(email)`: the next INSERT into users finds that address just registered by a
    concurrent sign-up (committed on another connection), so the server's unique constraint
    refuses it and quotes the address in its own message (PostgreSQL, MariaDB)."""
    from sqlalchemy import insert

    from shop.db import get_engine
    from shop.models import User
    from shop.passwords import hash_password

    dialect = get_engine().dialect
    original = dialect.do_execute
    raced: list[str] = []

    def race(email: str) -> None:
        def do_execute(cursor: Any, statement: str, parameters: Any, context: Any) -> None:
            if not raced and statement.lstrip().upper().startswith("INSERT INTO USERS "):
                raced.append(email)
                with get_engine().begin() as other:  # the sign-up that won the race
                    row = {"email": email, "full_name": "Winner", "role": "customer"}
                    other.execute(insert(User), {**row, "password_hash": hash_password("w")})
            original(cursor, statement, parameters, context)

        dialect.do_execute = do_execute  # type: ignore[method-assign]

    yield race
    dialect.do_execute = original  # type: ignore[method-assign]
    assert raced, "no registration reached the database"


RACED = {"email": "raced.person@example.com", "password": "a racing secret 1", "full_name": "R"}


def assert_no_customer_value(log: str) -> None:
    for value in (RACED["email"], "raced.person", RACED["password"], "$2b$"):
        assert value not in log, log


def test_a_sign_up_that_loses_the_race_for_its_address_logs_no_address(
    client: LambdaClient, registration_race: Any, shop_log: io.StringIO
) -> None:
    registration_race(RACED["email"])
    reply = client.post("/users/register", json=RACED)
    assert reply.status == 409 and reply.is_problem, reply.body
    assert_no_customer_value(shop_log.getvalue())


def test_a_unique_violation_no_service_catches_is_logged_without_the_value(
    client: LambdaClient,
    registration_race: Any,
    shop_log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    db: str,
) -> None:
    """The same refused INSERT, escaping to the 503 handler: its log line names the error by
    its code, constraint and table, whatever the driver's message quotes."""
    from shop.services import accounts

    monkeypatch.setattr(accounts, "IntegrityError", type("NotCaught", (Exception,), {}))
    registration_race(RACED["email"])
    reply = client.post("/users/register", json=RACED)
    assert reply.status == 503 and reply.is_problem, reply.body
    log = shop_log.getvalue()
    assert "database unavailable" in log and "IntegrityError" in log, log
    postgresql = '"code":"23505","constraint":"uq_users_email"'
    codes = {"mariadb": '"code":1062', "sqlite": "UNIQUE constraint failed: users.email"}
    code = codes.get(db, postgresql)  # PostgreSQL, directly or behind PgBouncer
    assert code in log, log
    assert_no_customer_value(log)


def test_a_psycopg_style_error_is_told_by_its_sqlstate_and_diag_names() -> None:
    """psycopg puts the server's detail in its message and the fields in `sqlstate`/`diag`
    (its public attributes): only those fields are kept, as for pg8000's field dict."""
    from types import SimpleNamespace

    from sqlalchemy.exc import IntegrityError

    from shop.logging import database_cause, failure_reason

    class UniqueViolation(Exception):
        sqlstate = "23505"
        diag = SimpleNamespace(
            constraint_name="uq_users_email", table_name="users", column_name=None
        )

    detail = f"duplicate key value\nDETAIL:  Key (email)=({RACED['email']}) already exists."
    wrapped = IntegrityError("INSERT INTO users (email) VALUES (%s)", (RACED["email"],), None)
    wrapped.orig = UniqueViolation(detail)
    cause = database_cause(wrapped)
    assert cause == {
        "error": "UniqueViolation",
        "code": "23505",
        "constraint": "uq_users_email",
        "table": "users",
        "statement": "INSERT INTO users (email) VALUES (%s)",
    }
    assert failure_reason(wrapped) == "UniqueViolation from the database (code 23505)"
