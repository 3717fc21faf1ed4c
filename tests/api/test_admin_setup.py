"""ADMIN_EMAIL, the default admin and `shopfn create-admin`: an existing customer account is
never made an admin unless `--promote-existing` says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from support import LambdaClient, sign_up

from shop.db import session_scope
from shop.models import RefreshToken, User

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    from shop.settings import get_settings

    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def role_of(email: str) -> str:
    with session_scope() as session:
        return session.scalar(select(User.role).where(User.email == email)) or "missing"


def live_refresh_tokens(user_id: int) -> int:
    with session_scope() as session:
        query = select(func.count()).select_from(RefreshToken)
        return (
            session.scalar(
                query.where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            )
            or 0
        )


def login(client: LambdaClient, email: str, password: str) -> int:
    return client.post("/users/login", json={"email": email, "password": password}).status


def serve_start(env: pytest.MonkeyPatch, **admin: str) -> None:
    from shop.settings import get_settings
    from shopfn.serve import prepare_database

    for name, value in admin.items():
        env.setenv(name, value)
    get_settings.cache_clear()
    prepare_database()


def test_admin_email_of_a_registered_customer_stops_serve_and_says_what_to_do(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    squatter = sign_up(client, email="owner@example.com", password="squatter password")
    with pytest.raises(SystemExit) as stopped:
        serve_start(settings_env, ADMIN_EMAIL=squatter.email, ADMIN_PASSWORD="owner password 1")
    message = str(stopped.value)
    assert "not made an admin" in message
    assert "shopfn create-admin --email owner@example.com --promote-existing" in message
    assert "ADMIN_EMAIL and ADMIN_PASSWORD" in message
    assert role_of(squatter.email) == "customer"
    assert client.get("/users", token=squatter.access_token).status == 403
    assert login(client, squatter.email, "owner password 1") == 401


def test_the_default_admin_address_registered_by_a_customer_is_not_promoted(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    settings_env.delenv("ADMIN_EMAIL", raising=False)
    settings_env.delenv("ADMIN_PASSWORD", raising=False)
    from shop.passwords import hash_password

    with session_scope() as session:  # e.g. the old default admin, demoted by another admin
        hashed = hash_password("customer password")
        session.add(User(email="admin@shopfn.local", full_name="Ex", password_hash=hashed))
    with pytest.raises(SystemExit, match="--promote-existing"):
        serve_start(settings_env)
    assert role_of("admin@shopfn.local") == "customer"
    assert login(client, "admin@shopfn.local", "customer password") == 200


def test_admin_email_creates_a_new_admin_with_admin_password(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    serve_start(settings_env, ADMIN_EMAIL="boss@example.com", ADMIN_PASSWORD="boss password 1")
    assert role_of("boss@example.com") == "admin"
    assert login(client, "boss@example.com", "boss password 1") == 200
    serve_start(settings_env)  # the next start leaves the admin as it is
    assert login(client, "boss@example.com", "boss password 1") == 200


def test_create_admin_refuses_a_customer_without_promote_existing(
    client: LambdaClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from shopfn.cli import main

    customer = sign_up(client, password="customer password")
    code = main(["create-admin", "--email", customer.email, "--password", "new admin pass"])
    assert code == 1
    assert "--promote-existing" in capsys.readouterr().err
    assert role_of(customer.email) == "customer"
    assert login(client, customer.email, "customer password") == 200


def test_create_admin_promote_existing_resets_the_password_and_signs_it_out(
    client: LambdaClient,
) -> None:
    from shopfn.cli import main

    customer = sign_up(client, password="customer password")
    assert live_refresh_tokens(customer.id) == 1
    args = ["--email", customer.email, "--password", "new admin pass", "--promote-existing"]
    assert main(["create-admin", *args]) == 0

    assert role_of(customer.email) == "admin"
    assert live_refresh_tokens(customer.id) == 0
    assert client.get("/cart", token=customer.access_token).status == 401
    assert login(client, customer.email, "customer password") == 401
    assert login(client, customer.email, "new admin pass") == 200


def test_create_admin_on_an_admin_resets_its_password_and_revokes_its_sessions(
    client: LambdaClient,
) -> None:
    from support import make_admin

    from shopfn.cli import main

    admin = make_admin(client)
    assert main(["create-admin", "--email", admin.email, "--password", "reset password 1"]) == 0
    refreshed = client.post("/users/refresh", json={"refresh_token": admin.refresh_token})
    assert refreshed.status == 401
    assert client.get("/users", token=admin.access_token).status == 401
    assert login(client, admin.email, "reset password 1") == 200


def deactivate(client: LambdaClient, by: str, account_id: int) -> None:
    reply = client.patch(f"/users/{account_id}", json={"is_active": False}, token=by)
    assert reply.status == 200, reply.body


def test_a_start_with_admin_email_never_re_activates_an_admin_another_admin_deactivated(
    client: LambdaClient, settings_env: pytest.MonkeyPatch
) -> None:
    from support import make_admin

    serve_start(settings_env, ADMIN_EMAIL="boss@example.com", ADMIN_PASSWORD="boss password 1")
    with session_scope() as session:
        boss_id = session.scalar(select(User.id).where(User.email == "boss@example.com"))
    assert boss_id is not None
    deactivate(client, make_admin(client).access_token, boss_id)

    with pytest.raises(SystemExit) as stopped:
        serve_start(settings_env)  # the next start, ADMIN_EMAIL still set
    message = str(stopped.value)
    assert "left deactivated" in message
    assert "shopfn create-admin --email boss@example.com --reactivate" in message
    with session_scope() as session:
        assert session.scalar(select(User.is_active).where(User.id == boss_id)) is False
    assert login(client, "boss@example.com", "boss password 1") == 401


def test_create_admin_reactivate_re_activates_on_purpose_and_only_then(
    client: LambdaClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from support import make_admin

    from shopfn.cli import main

    ex_admin = make_admin(client, password="old admin pass")
    deactivate(client, make_admin(client).access_token, ex_admin.id)
    args = ["create-admin", "--email", ex_admin.email, "--password", "new admin pass"]
    assert main(args) == 1
    assert "--reactivate" in capsys.readouterr().err
    assert login(client, ex_admin.email, "old admin pass") == 401

    assert main([*args, "--reactivate"]) == 0
    assert login(client, ex_admin.email, "old admin pass") == 401
    assert login(client, ex_admin.email, "new admin pass") == 200
    assert role_of(ex_admin.email) == "admin"
