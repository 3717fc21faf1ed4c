"""Hostile and malformed input: a clear 4xx problem, never a 500, never a changed database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from support import Account, LambdaClient, Reply, make_admin, sign_up, unique_email

from shop.db import session_scope
from shop.models import Base, Product, User

LEAKS = (b"Traceback", b'File "', b"sqlalchemy", b"pg8000", b"pymysql", b"/work/", b"site-packages")


def row_counts() -> dict[str, int]:
    """How many rows every table holds."""
    with session_scope() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def assert_problem(reply: Reply, *statuses: int) -> dict[str, Any]:
    """The reply is an RFC 9457 problem with one of `statuses` and leaks nothing internal."""
    assert reply.status in statuses, (reply.status, reply.body[:500])
    assert reply.headers["content-type"].startswith("application/problem+json")
    body = reply.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == reply.status
    assert isinstance(body["title"], str) and isinstance(body["detail"], str)
    for leak in LEAKS:
        assert leak not in reply.body, leak
    return body


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


@pytest.fixture
def product(client: LambdaClient, admin: Account) -> dict[str, Any]:
    reply = client.post(
        "/products",
        json={"sku": "BAD-1", "name": "Target", "category": "Misc", "price": "5.00", "stock": 2},
        token=admin.access_token,
    )
    assert reply.status == 201
    return reply.json()


def raw_post(client: LambdaClient, path: str, body: bytes, token: str | None = None) -> Reply:
    headers = {"content-type": "application/json"}
    return client.request("POST", path, body=body, headers=headers, token=token)


def register_body(**fields: Any) -> dict[str, Any]:
    return {"email": unique_email(), "password": "correct horse 1", "full_name": "Ada", **fields}


# --- malformed and oversized bodies -------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "a@example.com", ',
        b"{'single': 'quotes'}",
        b'{"a": 1,}',
        b"\xff\xfe\x00garbage",
        b"[" * 200_000 + b"]" * 200_000,  # deep nesting must not crash the parser
    ],
    ids=["truncated", "single-quotes", "trailing-comma", "not-utf8", "deeply-nested"],
)
def test_malformed_json_is_400(client: LambdaClient, body: bytes) -> None:
    before = row_counts()
    reply = raw_post(client, "/users/register", body)
    assert_problem(reply, 400)
    assert row_counts() == before


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"null", b"42", b""])
def test_json_that_is_not_an_object_is_422(client: LambdaClient, body: bytes) -> None:
    reply = raw_post(client, "/users/register", body)
    assert_problem(reply, 422)
    assert row_counts()["users"] == 0


def test_a_body_over_one_mib_is_413(client: LambdaClient, admin: Account) -> None:
    before = row_counts()
    padding = "x" * (1024 * 1024)
    for path, body, token in (
        ("/users/register", register_body(full_name=padding), None),
        ("/products", {"sku": "BIG", "name": "Big", "category": "C", "price": "1.00",
                       "description": padding}, admin.access_token),
    ):  # fmt: skip
        reply = client.post(path, json=body, token=token)
        assert_problem(reply, 413)
    assert row_counts() == before


def test_a_body_just_under_one_mib_is_read(client: LambdaClient) -> None:
    body = json.dumps(register_body(full_name="A")).encode()
    padded = body[:-1] + b" " * (1024 * 1024 - len(body)) + b"}"
    assert len(padded) == 1024 * 1024
    assert raw_post(client, "/users/register", padded).status == 201


# --- odd characters -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nul\x00byte", "lone\ud800surrogate", "\udfff"])
@pytest.mark.parametrize("field", ["full_name", "email", "password"])
def test_nul_bytes_and_lone_surrogates_in_body_strings_are_422(
    client: LambdaClient, field: str, bad: str
) -> None:
    value = f"{bad}@example.com" if field == "email" else f"{bad} long enough"
    reply = client.post("/users/register", json=register_body(**{field: value}))
    assert_problem(reply, 422)
    assert row_counts()["users"] == 0


@pytest.mark.parametrize("bad", ["nul\x00byte", "lone\ud800surrogate"])
def test_odd_characters_in_product_fields_are_422(
    client: LambdaClient, admin: Account, product: dict[str, Any], bad: str
) -> None:
    before = row_counts()
    created = client.post(
        "/products",
        json={"sku": "ODD-1", "name": bad, "category": "C", "price": "1.00"},
        token=admin.access_token,
    )
    assert_problem(created, 422)
    patched = client.patch(
        f"/products/{product['id']}", json={"description": bad}, token=admin.access_token
    )
    assert_problem(patched, 422)
    moved = client.post(
        f"/products/{product['id']}/inventory",
        json={"delta": 1, "reason": bad},
        token=admin.access_token,
    )
    assert_problem(moved, 422)
    login = client.post("/users/login", json={"email": bad, "password": bad})
    assert_problem(login, 422)
    refresh = client.post("/users/refresh", json={"refresh_token": bad})
    assert_problem(refresh, 422)
    assert row_counts() == before
    assert client.get(f"/products/{product['id']}").json() == product


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/products", {"q": "nul\x00byte"}),
        ("/products", {"category": "\x00"}),
        ("/users", {"q": "a\x00"}),
        ("/products/low-stock", {"threshold": "1\x00"}),
    ],
)
def test_nul_bytes_in_the_query_are_422(
    client: LambdaClient, admin: Account, path: str, params: dict[str, str]
) -> None:
    reply = client.get(path, params=params, token=admin.access_token)
    assert_problem(reply, 422)


def test_unicode_is_stored_and_returned_intact(client: LambdaClient, admin: Account) -> None:
    name = "Zoë 🚀 Ωmega ไทย עברית 中文 \u0301e"
    reply = client.post("/users/register", json=register_body(full_name=name))
    assert reply.status == 201 and reply.json()["full_name"] == name
    created = client.post(
        "/products",
        json={"sku": "UNI-1", "name": name, "category": "Café & Crème", "price": "1.00"},
        token=admin.access_token,
    )
    assert created.status == 201 and created.json()["name"] == name
    found = client.get("/products", params={"q": "🚀"})
    assert [item["sku"] for item in found.json()["items"]] == ["UNI-1"]
    categories = client.get("/products/categories").json()
    assert categories == [{"name": "Café & Crème", "slug": "cafe-creme", "product_count": 1}]


SQL_FRAGMENTS = [
    "'; DROP TABLE users; --",
    '" OR "1"="1',
    "1; SELECT pg_sleep(5)",
    "Robert'); DELETE FROM products;--",
    "\\'; --",
]


@pytest.mark.parametrize("fragment", SQL_FRAGMENTS)
def test_sql_fragments_are_just_text(
    client: LambdaClient, admin: Account, product: dict[str, Any], fragment: str
) -> None:
    reply = client.post("/users/register", json=register_body(full_name=fragment))
    assert reply.status == 201 and reply.json()["full_name"] == fragment
    with session_scope() as session:
        assert session.scalar(select(User.full_name).where(User.id == reply.json()["id"])) == (
            fragment
        )
    search = client.get("/products", params={"q": fragment})
    assert search.status == 200 and search.json()["total"] == 0
    users = client.get("/users", params={"q": fragment}, token=admin.access_token)
    assert users.status == 200 and users.json()["total"] == 1
    login = client.post("/users/login", json={"email": fragment, "password": fragment})
    assert_problem(login, 401)
    assert client.get("/products").json()["total"] == 1
    assert row_counts()["products"] == 1


# --- huge and odd query strings -----------------------------------------------------------

TEN_MB = 10 * 1024 * 1024


@pytest.mark.parametrize("name", ["q", "ignored"])
def test_a_ten_megabyte_query_string_is_refused(client: LambdaClient, name: str) -> None:
    reply = client.get("/products", params={name: "a" * TEN_MB})
    assert_problem(reply, 414)


@pytest.mark.parametrize("name", ["q", "category", "page", "sort", "min_price", "in_stock"])
def test_an_oversized_query_value_is_422(client: LambdaClient, name: str) -> None:
    digits_or_text = "9" if name in ("page", "min_price") else "a"
    reply = client.get("/products", params={name: digits_or_text * 5000})
    assert_problem(reply, 422)


@pytest.mark.parametrize(
    "params",
    [
        {"min_price": "1e309"},
        {"max_price": "-Infinity"},
        {"page": str(10**30)},
        {"page_size": "1e2"},
        {"page": "-1"},
        {"sort": "NEWEST"},
    ],
)
def test_odd_numbers_in_the_query_are_422(client: LambdaClient, params: dict[str, str]) -> None:
    assert_problem(client.get("/products", params=params), 422)


# --- numbers in bodies --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"delta": 1e309, "reason": "x"}',
        b'{"delta": 1.5, "reason": "x"}',
        b'{"delta": 100000000000000000000000000000, "reason": "x"}',
        b'{"delta": "NaN", "reason": "x"}',
        b'{"delta": true, "reason": "x"}',
    ],
)
def test_odd_numbers_in_bodies_are_422(
    client: LambdaClient, admin: Account, product: dict[str, Any], raw: bytes
) -> None:
    before = row_counts()
    reply = raw_post(client, f"/products/{product['id']}/inventory", raw, admin.access_token)
    assert_problem(reply, 422)
    assert row_counts() == before


@pytest.mark.parametrize("stock", ["1e309", "-1", "10000000000000", "2.5"])
def test_odd_stock_values_are_422(client: LambdaClient, admin: Account, stock: str) -> None:
    raw = f'{{"sku": "S-1", "name": "X", "category": "C", "price": 1, "stock": {stock}}}'
    reply = raw_post(client, "/products", raw.encode(), admin.access_token)
    assert_problem(reply, 422)
    assert row_counts()["products"] == 0


# --- image URLs ---------------------------------------------------------------------------

BAD_IMAGE_URLS = [
    "ftp://cdn.example.com/a.jpg",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "file:///etc/passwd",
    "http://user:pw@cdn.example.com/a.jpg",
    "https://user@cdn.example.com/a.jpg",
    "http://",
    "https://cdn.exa mple.com/a.jpg",
    "https://cdn.example.com/a\nb.jpg",
    "https://cdn.example.com:99999/a.jpg",
    "cdn.example.com/a.jpg",
    "https://cdn.example.com/" + "a" * 2048,
]


@pytest.mark.parametrize("url", BAD_IMAGE_URLS)
def test_image_url_must_be_a_plain_web_url(
    client: LambdaClient, admin: Account, product: dict[str, Any], url: str
) -> None:
    before = row_counts()
    created = client.post(
        "/products",
        json={"sku": "IMG-1", "name": "X", "category": "C", "price": "1.00", "image_url": url},
        token=admin.access_token,
    )
    assert_problem(created, 422)
    patched = client.patch(
        f"/products/{product['id']}", json={"image_url": url}, token=admin.access_token
    )
    assert_problem(patched, 422)
    assert row_counts() == before
    assert client.get(f"/products/{product['id']}").json()["image_url"] is None


def test_image_url_of_2048_characters_is_accepted(client: LambdaClient, admin: Account) -> None:
    url = "https://cdn.example.com/" + "a" * (2048 - len("https://cdn.example.com/"))
    created = client.post(
        "/products",
        json={"sku": "IMG-1", "name": "X", "category": "C", "price": "1.00", "image_url": url},
        token=admin.access_token,
    )
    assert created.status == 201 and created.json()["image_url"] == url


# --- ids in paths -------------------------------------------------------------------------

ODD_IDS = ["2147483648", "4294967296", "99999999999999999999999", "-1", "0", "abc", "1e3"]


@pytest.mark.parametrize("odd_id", ODD_IDS)
def test_ids_outside_the_column_range_are_422_or_404(
    client: LambdaClient, admin: Account, odd_id: str
) -> None:
    calls: list[Callable[[], Reply]] = [
        lambda: client.get(f"/products/{odd_id}"),
        lambda: client.get(f"/products/{odd_id}", token=admin.access_token),
        lambda: client.patch(f"/products/{odd_id}", json={"name": "X"}, token=admin.access_token),
        lambda: client.delete(f"/products/{odd_id}", token=admin.access_token),
        lambda: client.post(
            f"/products/{odd_id}/inventory",
            json={"delta": 1, "reason": "x"},
            token=admin.access_token,
        ),
        lambda: client.get(f"/users/{odd_id}", token=admin.access_token),
        lambda: client.patch(f"/users/{odd_id}", json={"role": "admin"}, token=admin.access_token),
    ]
    before = row_counts()
    for call in calls:
        assert_problem(call(), 404, 422)
    assert row_counts() == before


def test_unknown_paths_and_methods_are_problems(client: LambdaClient) -> None:
    assert_problem(client.get("/products/1/nothing-here"), 404, 405)
    assert_problem(client.request("PUT", "/products"), 405)
    assert_problem(client.delete("/users/me"), 405)


# --- failed requests leave no trace -------------------------------------------------------


def test_failed_requests_leave_every_table_unchanged(
    client: LambdaClient, admin: Account, product: dict[str, Any]
) -> None:
    shopper = sign_up(client)
    before = row_counts()
    failures = [
        client.post("/users/register", json=register_body(email=shopper.email.upper())),
        client.post(
            "/products",
            json={"sku": "BAD-1", "name": "Dup", "category": "C", "price": "1.00", "stock": 9},
            token=admin.access_token,
        ),
        client.post(
            f"/products/{product['id']}/inventory",
            json={"delta": -3, "reason": "too many"},
            token=admin.access_token,
        ),
        client.patch(
            "/users/me",
            json={"full_name": "Changed", "password": "new password 1", "current_password": "no"},
            token=shopper.access_token,
        ),
        client.patch(f"/users/{admin.id}", json={"is_active": False}, token=admin.access_token),
        client.patch(
            f"/products/{product['id']}",
            json={"name": "Renamed", "price": "-1"},
            token=admin.access_token,
        ),
        client.post("/products", json={"sku": "X"}, token=shopper.access_token),
    ]
    assert [reply.status for reply in failures] == [409, 409, 409, 422, 409, 422, 403]
    for reply in failures:
        assert_problem(reply, reply.status)
    assert row_counts() == before
    with session_scope() as session:
        stored = session.get(Product, product["id"])
        assert stored is not None and (stored.name, stored.stock) == ("Target", 2)
        assert session.scalar(select(User.full_name).where(User.id == shopper.id)) == (
            "Test Shopper"
        )
