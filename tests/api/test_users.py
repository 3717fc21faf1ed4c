"""Users: registration, sign-in, throttling, tokens, profile and the admin's view of users."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from support import LambdaClient, make_admin, sign_up, unique_email

from shop.db import session_scope
from shop.models import BehaviorEvent, LoginFailure, RefreshToken, User

USER_FIELDS = {"id", "email", "full_name", "role", "is_active", "marketing_opt_out", "created_at"}


def register(client: LambdaClient, **fields: Any) -> Any:
    body = {"email": unique_email(), "password": "correct horse 1", "full_name": "Ada", **fields}
    return client.post("/users/register", json=body)


def login(client: LambdaClient, email: str, password: str) -> Any:
    return client.post("/users/login", json={"email": email, "password": password})


def user_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def stored_user(email: str) -> User:
    with session_scope() as session:
        user = session.scalar(select(User).where(User.email == email.lower()))
        assert user is not None
        session.expunge(user)
        return user


def jwt_header(token: str) -> dict[str, Any]:
    import jwt

    return jwt.get_unverified_header(token)


# --- registration -------------------------------------------------------------------------


def test_register_returns_the_user_with_location_and_never_the_hash(
    client: LambdaClient,
) -> None:
    email = unique_email()
    reply = register(client, email=email, full_name="Ada Lovelace")
    assert reply.status == 201, reply.body
    body = reply.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == email and body["role"] == "customer" and body["is_active"] is True
    assert reply.headers["location"] == f"/users/{body['id']}"
    assert b"password" not in reply.body and b"$2b$" not in reply.body
    assert stored_user(email).password_hash.startswith("$2")


def test_register_refuses_a_taken_email_in_any_letter_case(client: LambdaClient) -> None:
    email = unique_email()
    assert register(client, email=email).status == 201
    again = register(client, email=email.upper())
    assert again.status == 409 and again.is_problem
    assert user_count() == 1


def test_simultaneous_registrations_of_one_email_create_one_account(
    client: LambdaClient,
) -> None:
    email = unique_email()
    statuses: list[int] = []
    start = threading.Barrier(6)

    def attempt(index: int) -> None:
        caller = LambdaClient()  # its own handler call, session and connection
        start.wait()
        address = email.upper() if index % 2 else email
        statuses.append(register(caller, email=address).status)

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 5
    assert user_count() == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "not-an-email"},
        {"email": "two@@example.com"},
        {"password": "short7!"},
        {"password": ""},
        {"full_name": ""},
    ],
    ids=["no-at", "double-at", "password-7-chars", "empty-password", "empty-name"],
)
def test_register_refuses_invalid_fields(client: LambdaClient, fields: dict[str, str]) -> None:
    reply = register(client, **fields)
    assert reply.status == 422 and reply.is_problem
    field = next(iter(fields))
    assert any(error["loc"][-1] == field for error in reply.json()["errors"])
    assert user_count() == 0


def test_register_ignores_role_id_and_is_active(client: LambdaClient) -> None:
    reply = register(client, role="admin", id=987654321, is_active=False)
    assert reply.status == 201
    body = reply.json()
    assert body["role"] == "customer" and body["is_active"] is True
    assert body["id"] != 987654321
    stored = stored_user(body["email"])
    assert stored.role == "customer" and stored.is_active is True


# --- passwords and sign-in ----------------------------------------------------------------


def test_passwords_longer_than_72_bytes_are_whole_passwords(client: LambdaClient) -> None:
    shared = "ü" * 40  # 80 bytes in UTF-8: bcrypt alone would only ever see the first 72
    email = unique_email()
    assert register(client, email=email, password=shared + "-one").status == 201
    assert login(client, email, shared + "-one").status == 200
    assert login(client, email, shared + "-two").status == 401
    assert login(client, email, shared).status == 401


def test_passwords_are_taken_exactly_as_typed(client: LambdaClient) -> None:
    email = unique_email()
    assert register(client, email=email, password="  spaced secret  ").status == 201
    assert login(client, email, "spaced secret").status == 401
    assert login(client, email, "  spaced secret  ").status == 200
    assert register(client, password=" " * 8).status == 201  # eight characters, as typed


def test_login_returns_a_bearer_token_pair_and_records_a_login_event(
    client: LambdaClient,
) -> None:
    email = unique_email()
    user_id = register(client, email=email).json()["id"]
    reply = login(client, email.upper(), "correct horse 1")
    assert reply.status == 200
    body = reply.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]
    with session_scope() as session:
        events = session.scalars(select(BehaviorEvent).where(BehaviorEvent.user_id == user_id))
        assert [event.event_type for event in events] == ["login"]


def test_unknown_email_and_wrong_password_fail_alike(client: LambdaClient) -> None:
    email = unique_email()
    register(client, email=email)
    wrong_password = login(client, email, "not the password")
    unknown_email = login(client, unique_email(), "correct horse 1")
    assert wrong_password.status == unknown_email.status == 401
    assert wrong_password.json()["detail"] == unknown_email.json()["detail"]
    assert wrong_password.json()["title"] == unknown_email.json()["title"]
    assert wrong_password.headers["www-authenticate"] == "Bearer"


@pytest.fixture
def default_bcrypt_cost() -> Iterator[int]:
    """Production's bcrypt cost for one test (the suite runs at cost 4)."""
    from shop.settings import Settings, get_settings

    saved = os.environ.get("BCRYPT_ROUNDS")
    os.environ.pop("BCRYPT_ROUNDS", None)
    get_settings.cache_clear()
    cost = Settings.model_fields["bcrypt_rounds"].default
    assert get_settings().bcrypt_rounds == cost >= 10
    yield cost
    if saved is not None:
        os.environ["BCRYPT_ROUNDS"] = saved
    get_settings.cache_clear()


def test_unknown_email_takes_as_long_as_a_wrong_password(
    client: LambdaClient, default_bcrypt_cost: int
) -> None:
    email = unique_email()
    assert register(client, email=email).status == 201
    assert stored_user(email).password_hash.startswith(f"$2b${default_bcrypt_cost}$")

    def timed(address: str) -> float:
        started = time.perf_counter()
        assert login(client, address, "wrong password").status == 401
        return time.perf_counter() - started

    wrong, unknown = [], []
    for _ in range(3):  # interleaved, best of three: the machine is shared and noisy
        wrong.append(timed(email))
        unknown.append(timed(unique_email()))
    ratio = min(unknown) / min(wrong)
    assert 0.5 < ratio < 2.0, f"unknown/wrong = {ratio:.2f} ({unknown} vs {wrong})"


def test_five_failures_lock_that_account_only(client: LambdaClient) -> None:
    victim = sign_up(client)
    bystander = sign_up(client)
    for _ in range(5):
        assert login(client, victim.email, "wrong password").status == 401
    locked = login(client, victim.email, "wrong password")
    assert locked.status == 429 and locked.is_problem
    assert int(locked.headers["retry-after"]) > 0
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
    correct_but_locked = login(client, victim.email, victim.password)
    assert correct_but_locked.status == 429
    assert login(client, bystander.email, bystander.password).status == 200


def add_failures(email: str, count: int, *, ago: Any, spread: bool = False) -> None:
    """`count` failed sign-ins `ago` (a timedelta), from one address each if `spread`."""
    from shop.coltypes import utcnow

    with session_scope() as session:
        for n in range(count):
            address = f"addr:203.0.113.{n}" if spread else None
            session.add(LoginFailure(email=email, address=address, failed_at=utcnow() - ago))


def test_failures_older_than_the_window_do_not_lock(client: LambdaClient) -> None:
    from datetime import timedelta

    account = sign_up(client)
    add_failures(account.email, 5, ago=timedelta(minutes=16))
    assert login(client, account.email, account.password).status == 200


# --- tokens -------------------------------------------------------------------------------


def test_access_token_carries_the_required_claims(client: LambdaClient) -> None:
    import jwt

    account = sign_up(client)
    header = jwt_header(account.access_token)
    assert header["alg"] == "RS256" and header["kid"]
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    assert set(claims) >= {"sub", "role", "iss", "aud", "iat", "exp", "jti"}
    assert claims["sub"] == str(account.id) and claims["role"] == "customer"
    assert claims["exp"] - claims["iat"] == 900


def test_jwks_publishes_the_key_that_verifies_access_tokens(client: LambdaClient) -> None:
    import jwt

    account = sign_up(client)
    reply = client.get("/users/.well-known/jwks.json")
    assert reply.status == 200
    (key,) = reply.json()["keys"]
    assert key["kty"] == "RSA" and key["kid"] == jwt_header(account.access_token)["kid"]
    assert "d" not in key  # the public half only
    claims = jwt.decode(
        account.access_token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="shopfn-api",
        issuer="shopfn",
    )
    assert claims["sub"] == str(account.id)


def test_refresh_rotates_and_a_spent_token_is_refused(client: LambdaClient) -> None:
    account = sign_up(client)
    first = client.post("/users/refresh", json={"refresh_token": account.refresh_token})
    assert first.status == 200
    rotated = first.json()
    assert rotated["refresh_token"] != account.refresh_token
    assert client.get("/users/me", token=rotated["access_token"]).status == 200
    second = client.post("/users/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert second.status == 200


def test_reusing_a_spent_refresh_token_revokes_its_whole_family(client: LambdaClient) -> None:
    account = sign_up(client)
    other_session = login(client, account.email, account.password).json()["refresh_token"]
    newest = client.post("/users/refresh", json={"refresh_token": account.refresh_token})
    newest_token = newest.json()["refresh_token"]
    replay = client.post("/users/refresh", json={"refresh_token": account.refresh_token})
    assert replay.status == 401 and replay.headers["www-authenticate"] == "Bearer"
    assert client.post("/users/refresh", json={"refresh_token": newest_token}).status == 401
    # A separate sign-in is another family and survives.
    assert client.post("/users/refresh", json={"refresh_token": other_session}).status == 200


def test_refresh_tokens_are_stored_hashed_and_expire(client: LambdaClient) -> None:
    import hashlib
    from datetime import timedelta

    from sqlalchemy import update

    from shop.coltypes import utcnow

    account = sign_up(client)
    digest = hashlib.sha256(account.refresh_token.encode()).hexdigest()
    with session_scope() as session:
        hashes = list(session.scalars(select(RefreshToken.token_hash)))
        assert hashes == [digest] and account.refresh_token not in hashes
        session.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = client.post("/users/refresh", json={"refresh_token": account.refresh_token})
    assert expired.status == 401 and expired.is_problem


def test_unknown_refresh_token_is_refused(client: LambdaClient) -> None:
    reply = client.post("/users/refresh", json={"refresh_token": "made-up-token"})
    assert reply.status == 401 and reply.is_problem


def test_deactivated_user_is_locked_out_at_once(client: LambdaClient) -> None:
    admin = make_admin(client)
    account = sign_up(client)
    reply = client.patch(
        f"/users/{account.id}", json={"is_active": False}, token=admin.access_token
    )
    assert reply.status == 200 and reply.json()["is_active"] is False
    with session_scope() as session:
        live = session.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.user_id == account.id, RefreshToken.revoked_at.is_(None))
        )
    assert live == 0
    assert login(client, account.email, account.password).status == 401
    refreshed = client.post("/users/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status == 401
    assert client.get("/users/me", token=account.access_token).status == 401
    renamed = client.patch(
        "/users/me", json={"full_name": "Still here"}, token=account.access_token
    )
    assert renamed.status == 401
    assert stored_user(account.email).full_name == "Test Shopper"


# --- the signed-in user -------------------------------------------------------------------


def test_me_requires_a_token(client: LambdaClient) -> None:
    reply = client.get("/users/me")
    assert reply.status == 401 and reply.headers["www-authenticate"] == "Bearer"


def test_me_returns_the_signed_in_user(client: LambdaClient) -> None:
    account = sign_up(client, full_name="Grace Hopper")
    reply = client.get("/users/me", token=account.access_token)
    assert reply.status == 200
    assert set(reply.json()) == USER_FIELDS
    assert reply.json()["full_name"] == "Grace Hopper" and reply.json()["id"] == account.id


def test_user_changes_their_name(client: LambdaClient) -> None:
    account = sign_up(client)
    reply = client.patch("/users/me", json={"full_name": "New Name"}, token=account.access_token)
    assert reply.status == 200 and reply.json()["full_name"] == "New Name"
    assert stored_user(account.email).full_name == "New Name"


@pytest.mark.parametrize("current", [None, "not my password"], ids=["missing", "wrong"])
def test_password_change_needs_the_current_password(
    client: LambdaClient, current: str | None
) -> None:
    account = sign_up(client)
    before = stored_user(account.email)
    body: dict[str, Any] = {"password": "brand new secret", "full_name": "Changed"}
    if current is not None:
        body["current_password"] = current
    reply = client.patch("/users/me", json=body, token=account.access_token)
    assert reply.status == 422 and reply.is_problem
    after = stored_user(account.email)
    assert (after.password_hash, after.full_name) == (before.password_hash, before.full_name)
    assert login(client, account.email, account.password).status == 200


def test_password_change_replaces_the_old_password(client: LambdaClient) -> None:
    account = sign_up(client)
    reply = client.patch(
        "/users/me",
        json={"password": "brand new secret", "current_password": account.password},
        token=account.access_token,
    )
    assert reply.status == 200
    assert login(client, account.email, account.password).status == 401
    assert login(client, account.email, "brand new secret").status == 200
    # Other sessions must sign in again.
    refreshed = client.post("/users/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status == 401


def test_new_password_must_be_eight_characters(client: LambdaClient) -> None:
    account = sign_up(client)
    reply = client.patch(
        "/users/me",
        json={"password": "short", "current_password": account.password},
        token=account.access_token,
    )
    assert reply.status == 422
    assert login(client, account.email, account.password).status == 200


# --- admins -------------------------------------------------------------------------------


def test_admin_lists_users_with_search_role_and_paging(client: LambdaClient) -> None:
    admin = make_admin(client)
    for name in ("Alice Search", "Bob Search", "Carol Other"):
        sign_up(client, full_name=name)
    everyone = client.get("/users", token=admin.access_token)
    assert everyone.status == 200
    assert everyone.json()["total"] == 4
    assert all(set(item) == USER_FIELDS for item in everyone.json()["items"])

    found = client.get("/users", params={"q": "search"}, token=admin.access_token).json()
    assert sorted(item["full_name"] for item in found["items"]) == ["Alice Search", "Bob Search"]
    by_email = client.get("/users", params={"q": admin.email.upper()}, token=admin.access_token)
    assert [item["id"] for item in by_email.json()["items"]] == [admin.id]

    admins = client.get("/users", params={"role": "admin"}, token=admin.access_token).json()
    assert [item["id"] for item in admins["items"]] == [admin.id]
    customers = client.get("/users", params={"role": "customer"}, token=admin.access_token)
    assert customers.json()["total"] == 3

    page2 = client.get("/users", params={"page": 2, "page_size": 3}, token=admin.access_token)
    assert page2.json()["total"] == 4 and len(page2.json()["items"]) == 1
    assert page2.json()["page"] == 2 and page2.json()["page_size"] == 3
    assert client.get("/users", params={"role": "owner"}, token=admin.access_token).status == 422


def test_admin_routes_refuse_customers_and_anonymous_callers(client: LambdaClient) -> None:
    customer = sign_up(client)
    assert client.get("/users").status == 401
    assert client.get("/users", token=customer.access_token).status == 403
    assert client.get(f"/users/{customer.id}", token=customer.access_token).status == 403
    promote = client.patch(
        f"/users/{customer.id}", json={"role": "admin"}, token=customer.access_token
    )
    assert promote.status == 403
    assert stored_user(customer.email).role == "customer"


def test_admin_reads_and_changes_a_user(client: LambdaClient) -> None:
    admin = make_admin(client)
    customer = sign_up(client)
    got = client.get(f"/users/{customer.id}", token=admin.access_token)
    assert got.status == 200 and got.json()["email"] == customer.email
    assert client.get("/users/2147483000", token=admin.access_token).status == 404
    promoted = client.patch(
        f"/users/{customer.id}", json={"role": "admin"}, token=admin.access_token
    )
    assert promoted.status == 200 and promoted.json()["role"] == "admin"
    assert stored_user(customer.email).role == "admin"
    new_token = login(client, customer.email, customer.password).json()["access_token"]
    assert client.get("/users", token=new_token).status == 200


@pytest.mark.parametrize("change", [{"role": "customer"}, {"is_active": False}])
def test_admin_cannot_demote_or_deactivate_themself(
    client: LambdaClient, change: dict[str, Any]
) -> None:
    admin = make_admin(client)
    reply = client.patch(f"/users/{admin.id}", json=change, token=admin.access_token)
    assert reply.status == 409 and reply.is_problem
    stored = stored_user(admin.email)
    assert stored.role == "admin" and stored.is_active is True


def test_a_stranger_locks_only_their_own_address_out(client: LambdaClient) -> None:
    owner = sign_up(client)
    stranger = LambdaClient(source_ip="203.0.113.66")
    for _ in range(5):
        assert login(stranger, owner.email, "guess").status == 401
    assert login(stranger, owner.email, "guess").status == 429
    assert login(stranger, owner.email, owner.password).status == 429
    assert login(LambdaClient(source_ip="198.51.100.7"), owner.email, owner.password).status == 200


def test_a_guess_counted_while_the_owner_signs_in_stays_counted(
    client: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.services import auth

    owner = sign_up(client)
    check_password = auth.verify_password
    guesses: list[int] = []

    def guessed_meanwhile(password: str, password_hash: str) -> bool:
        if password == owner.password:  # a wrong guess from the same address lands meanwhile
            guess = threading.Thread(
                target=lambda: guesses.append(login(client, owner.email, "guess").status)
            )
            guess.start()
            guess.join()
        return check_password(password, password_hash)

    monkeypatch.setattr(auth, "verify_password", guessed_meanwhile)
    assert login(client, owner.email, owner.password).status == 200
    assert guesses == [401]
    with session_scope() as session:
        failures = session.scalar(
            select(func.count()).select_from(LoginFailure).where(LoginFailure.email == owner.email)
        )
    assert failures == 1


def test_past_the_account_ceiling_the_account_backs_off_for_seconds_not_the_window(
    client: LambdaClient,
) -> None:
    import time_machine

    owner = sign_up(client)
    with time_machine.travel("2026-06-01 12:00:00+00:00", tick=False) as clock:
        for n in range(20):  # 20 failures from five addresses, four each: under the pair limit
            guesser = LambdaClient(source_ip=f"203.0.113.{n % 5 + 1}")
            assert login(guesser, owner.email, "guess").status == 401
        owner_client = LambdaClient(source_ip="198.51.100.9")
        waiting = login(owner_client, owner.email, owner.password)
        assert waiting.status == 429 and waiting.headers["retry-after"] == "1"
        clock.shift(1.5)
        assert login(LambdaClient(source_ip="203.0.113.9"), owner.email, "guess").status == 401
        clock.shift(1.5)  # the 21st failure doubled the wait to 2 s
        assert login(owner_client, owner.email, owner.password).status == 429
        clock.shift(0.6)
        assert login(owner_client, owner.email, owner.password).status == 200


def test_the_account_backoff_never_exceeds_a_minute(client: LambdaClient) -> None:
    from datetime import timedelta

    owner = sign_up(client)
    add_failures(owner.email, 40, ago=timedelta(seconds=30), spread=True)
    waiting = login(LambdaClient(source_ip="198.51.100.9"), owner.email, owner.password)
    assert waiting.status == 429
    assert 25 <= int(waiting.headers["retry-after"]) <= 31
