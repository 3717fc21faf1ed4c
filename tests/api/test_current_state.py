"""Every request checks the caller's current state: role, active flag and password changes
take effect on the next request, in every function, not when the access token expires."""

from __future__ import annotations

from typing import Any

import pytest
from shopping import ADDRESS, add_to_cart, checkout, count_rows, new_product
from support import Account, LambdaClient, Reply, make_admin, sign_up

from shop.models import CartItem, Order, User

OUT_OF_DATE = "Your sign-in is out of date"


def login(client: LambdaClient, account: Account, password: str | None = None) -> Reply:
    return client.post(
        "/users/login", json={"email": account.email, "password": password or account.password}
    )


def patch_user(client: LambdaClient, actor: Account, target: Account, **change: Any) -> Reply:
    return client.patch(f"/users/{target.id}", json=change, token=actor.access_token)


def assert_refused(reply: Reply, detail: str = OUT_OF_DATE) -> None:
    assert reply.status == 401 and reply.is_problem, reply.body
    assert reply.headers["www-authenticate"] == "Bearer"
    assert reply.json()["detail"].startswith(detail), reply.body


def stored(user_id: int) -> tuple[str, bool]:
    from shop.db import session_scope

    with session_scope() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user.role, user.is_active


# --- point 1: a demoted admin ---------------------------------------------------------------


def test_a_demoted_and_deactivated_admin_loses_every_power_at_once(client: LambdaClient) -> None:
    a = make_admin(client)
    b = sign_up(client)
    assert patch_user(client, a, b, role="admin").status == 200
    b_admin = login(client, b).json()["access_token"]
    b.access_token = b_admin
    assert client.get("/orders/stats", token=b_admin).status == 200  # B is an admin now

    assert patch_user(client, a, b, role="customer", is_active=False).status == 200

    assert_refused(patch_user(client, b, b, role="admin", is_active=True), "This account is")
    assert_refused(patch_user(client, b, a, is_active=False), "This account is")
    assert_refused(client.get("/orders/stats", token=b_admin), "This account is")
    assert login(client, b).status == 401
    assert stored(b.id) == ("customer", False)
    assert stored(a.id) == ("admin", True)
    assert login(client, a).status == 200


def test_a_demoted_admin_still_active_gets_401_then_only_customer_rights(
    client: LambdaClient,
) -> None:
    a = make_admin(client)
    b = make_admin(client)
    assert patch_user(client, a, b, role="customer").status == 200

    assert_refused(patch_user(client, b, b, role="admin"))
    assert_refused(patch_user(client, b, a, is_active=False))
    assert_refused(client.get("/orders/stats", token=b.access_token))
    assert stored(b.id) == ("customer", True) and stored(a.id) == ("admin", True)

    renewed = client.post("/users/refresh", json={"refresh_token": b.refresh_token})
    assert renewed.status == 200, renewed.body
    b.access_token = renewed.json()["access_token"]
    assert client.get("/users/me", token=b.access_token).json()["role"] == "customer"
    assert client.get("/orders/stats", token=b.access_token).status == 403
    assert patch_user(client, b, b, role="admin").status == 403


def test_a_promoted_customer_signs_in_again_to_act_as_admin(client: LambdaClient) -> None:
    a = make_admin(client)
    b = sign_up(client)
    assert patch_user(client, a, b, role="admin").status == 200
    assert_refused(client.get("/cart", token=b.access_token))
    fresh = login(client, b).json()["access_token"]
    assert client.get("/orders/stats", token=fresh).status == 200


def test_a_no_op_change_keeps_the_users_tokens(client: LambdaClient) -> None:
    a = make_admin(client)
    b = sign_up(client)
    assert patch_user(client, a, b, role="customer", is_active=True).status == 200
    assert client.get("/cart", token=b.access_token).status == 200


def test_a_change_committed_after_another_still_ends_the_tokens_issued_between(
    client: LambdaClient,
) -> None:
    from shop.db import new_session
    from shop.services import accounts

    admin = make_admin(client)
    shopper = sign_up(client)
    late = new_session()
    try:
        loaded = late.get(User, shopper.id)  # read before the first change commits
        assert loaded is not None and loaded.token_epoch == 0
        assert patch_user(client, admin, shopper, role="admin").status == 200
        between = login(client, shopper).json()["access_token"]
        assert client.get("/orders/stats", token=between).status == 200
        change = accounts.ProfileChange(
            password="brand new secret", current_password=shopper.password
        )
        assert accounts.update_profile(late, shopper.id, change) is loaded
    finally:
        late.close()

    assert_refused(client.get("/orders/stats", token=between))


# --- point 2: deactivation and password changes, everywhere ----------------------------------


@pytest.fixture
def shop_with_cart(client: LambdaClient) -> tuple[Account, int, Account]:
    """An admin, a product and a shopper with that product in their cart."""
    admin = make_admin(client)
    product = new_product(client, admin)
    shopper = sign_up(client)
    assert add_to_cart(client, shopper, product).status == 201
    return admin, product, shopper


def test_a_deactivated_customers_live_token_stops_working_in_every_function(
    client: LambdaClient, shop_with_cart: tuple[Account, int, Account]
) -> None:
    admin, product, shopper = shop_with_cart
    assert patch_user(client, admin, shopper, is_active=False).status == 200

    refused = [
        add_to_cart(client, shopper, product),
        checkout(client, shopper),
        client.get("/orders", token=shopper.access_token),
        client.get(f"/ml/predictions/users/{shopper.id}", token=shopper.access_token),
        client.get("/support/conversations", token=shopper.access_token),
        client.post("/support/chat", json={"message": "hi"}, token=shopper.access_token),
        client.get(f"/products/{product}", token=shopper.access_token),
        client.get("/users/me", token=shopper.access_token),
    ]
    for reply in refused:
        assert_refused(reply, "This account is deactivated.")
    assert count_rows(CartItem) == 1 and count_rows(Order) == 0


def test_after_a_password_change_older_tokens_stop_working_everywhere(
    client: LambdaClient, shop_with_cart: tuple[Account, int, Account]
) -> None:
    _admin, product, shopper = shop_with_cart
    other_device = login(client, shopper).json()
    changed = client.patch(
        "/users/me",
        json={"password": "brand new secret", "current_password": shopper.password},
        token=shopper.access_token,
    )
    assert changed.status == 200, changed.body

    for token in (shopper.access_token, other_device["access_token"]):
        stale = Account(shopper.id, shopper.email, shopper.password, token, "")
        assert_refused(add_to_cart(client, stale, product))
        assert_refused(checkout(client, stale))
        assert_refused(client.get("/orders", token=token))
        assert_refused(client.get(f"/ml/predictions/users/{shopper.id}", token=token))
        assert_refused(client.get("/support/conversations", token=token))
        assert_refused(client.get("/users/me", token=token))
    assert client.post("/users/refresh", json=other_device).status == 401

    fresh = login(client, shopper, "brand new secret").json()["access_token"]
    placed = client.post(
        "/orders",
        json={"shipping_address": ADDRESS},
        token=fresh,
        headers={"Idempotency-Key": "after-password-change"},
    )
    assert placed.status == 201, placed.body


# --- each function checks the row, not the token ----------------------------------------------

CUSTOMER_CALLS = [
    ("GET", "/users/me"),
    ("GET", "/products/{product}"),
    ("GET", "/cart"),
    ("GET", "/orders"),
    ("GET", "/support/conversations"),
    ("GET", "/ml/predictions/users/{user}"),
]
ADMIN_CALLS = [
    ("GET", "/users"),
    ("POST", "/products"),
    ("GET", "/orders/stats"),
    ("GET", "/support/tickets"),
    ("GET", "/ml/models"),
    ("GET", "/ml/retrain/runs"),
]


@pytest.fixture
def people(client: LambdaClient) -> dict[str, Any]:
    admin = make_admin(client)
    return {"admin": admin, "other": make_admin(client), "product": new_product(client, admin)}


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("method", "path"), CUSTOMER_CALLS + ADMIN_CALLS)
def test_every_function_refuses_a_token_from_before_a_change(
    client: LambdaClient, people: dict[str, Any], method: str, path: str
) -> None:
    target: Account = people["other"]
    url = path.format(product=people["product"], user=target.id)
    before = client.request(method, url, token=target.access_token, json_body={})
    assert before.status != 401, before.body
    assert patch_user(client, people["admin"], target, role="customer").status == 200
    after = client.request(method, url, token=target.access_token, json_body={})
    assert_refused(after)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_token_of_a_deleted_account_is_refused(client: LambdaClient) -> None:
    from sqlalchemy import delete

    from shop.db import session_scope
    from shop.models import BehaviorEvent, RefreshToken

    shopper = sign_up(client)
    with session_scope() as session:
        for model in (BehaviorEvent, RefreshToken):
            session.execute(delete(model).where(model.user_id == shopper.id))
        session.execute(delete(User).where(User.id == shopper.id))
    assert_refused(client.get("/cart", token=shopper.access_token), "invalid or expired")


def test_anonymous_product_reads_still_work_and_read_no_account(client: LambdaClient) -> None:
    from sqlalchemy import event

    from shop.db import get_engine

    product = new_product(client, make_admin(client))
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        assert client.get(f"/products/{product}").status == 200
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
    assert statements and not [s for s in statements if "FROM users" in s], statements


def test_my_account_is_read_once_with_its_token_check(client: LambdaClient) -> None:
    from sqlalchemy import event

    from shop.db import get_engine

    shopper = sign_up(client)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", seen)
    try:
        reply = client.get("/users/me", token=shopper.access_token)
    finally:
        event.remove(get_engine(), "before_cursor_execute", seen)
    assert reply.status == 200, reply.body
    assert reply.json()["email"] == shopper.email and reply.json()["id"] == shopper.id
    reads = [s for s in statements if "FROM users" in s]
    assert len(reads) == 1, statements


def test_my_account_refuses_a_token_from_before_a_password_change(client: LambdaClient) -> None:
    shopper = sign_up(client, password="first password 1")
    change = {"password": "second password 2", "current_password": "first password 1"}
    assert client.patch("/users/me", json=change, token=shopper.access_token).status == 200
    assert_refused(client.get("/users/me", token=shopper.access_token))
