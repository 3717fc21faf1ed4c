"""Products: the public catalog, admin management, the inventory ledger and the seed."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from support import Account, LambdaClient, make_admin, sign_up

from shop.db import session_scope
from shop.models import BehaviorEvent, InventoryMovement, Product

PRODUCT_FIELDS = {
    "id",
    "sku",
    "name",
    "description",
    "category",
    "price",
    "stock",
    "image_url",
    "is_active",
    "created_at",
    "updated_at",
}


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


def create(client: LambdaClient, admin: Account, **fields: Any) -> dict[str, Any]:
    body = {
        "sku": f"SKU-{fields.get('name', 'x')[:20].replace(' ', '-')}",
        "name": "Thing",
        "category": "Misc",
        "price": "10.00",
        "stock": 5,
        **fields,
    }
    reply = client.post("/products", json=body, token=admin.access_token)
    assert reply.status == 201, reply.body
    return reply.json()


def movements(product_id: int) -> list[tuple[int, int, str, int | None]]:
    """(delta, stock_after, reason, actor_id) of every ledger row of the product, oldest first."""
    with session_scope() as session:
        rows = session.execute(
            select(
                InventoryMovement.delta,
                InventoryMovement.stock_after,
                InventoryMovement.reason,
                InventoryMovement.actor_id,
            )
            .where(InventoryMovement.product_id == product_id)
            .order_by(InventoryMovement.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def stored_stock(product_id: int) -> int:
    with session_scope() as session:
        stock = session.scalar(select(Product.stock).where(Product.id == product_id))
        assert stock is not None
        return stock


def product_count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Product)) or 0


def names(reply: Any) -> list[str]:
    assert reply.status == 200, reply.body
    return [item["name"] for item in reply.json()["items"]]


@pytest.fixture
def catalog(client: LambdaClient, admin: Account) -> dict[str, dict[str, Any]]:
    """A small catalog with one deactivated product."""
    specs = [
        ("Blue Kettle", "Home & Kitchen", "30.00", 4, "Boils water fast"),
        ("Red Teapot", "Home & Kitchen", "12.50", 0, "Glazed ceramic"),
        ("Trail Shoes", "Sports", "89.99", 10, "Grippy soles for mud"),
        ("Yoga Mat", "Sports", "25.00", 7, "Non-slip KETTLE-proof rubber"),
        ("100% Cotton Tee", "Apparel", "15.00", 3, "Soft"),
        ("Snake_case Mug", "Home & Kitchen", "9.99", 2, "For programmers"),
        ("Retired Lamp", "Home & Kitchen", "40.00", 1, "Discontinued kettle lamp"),
    ]
    made = {}
    for index, (name, category, price, stock, description) in enumerate(specs):
        made[name] = create(
            client,
            admin,
            sku=f"CAT-{index}",
            name=name,
            category=category,
            price=price,
            stock=stock,
            description=description,
        )
    gone = client.delete(f"/products/{made['Retired Lamp']['id']}", token=admin.access_token)
    assert gone.status == 204
    return made


# --- browsing -----------------------------------------------------------------------------


def test_list_shows_active_products_only_with_a_correct_total(
    client: LambdaClient, catalog: dict[str, Any]
) -> None:
    reply = client.get("/products")
    assert reply.status == 200
    body = reply.json()
    assert body["total"] == 6 and body["page"] == 1 and body["page_size"] == 20
    assert "Retired Lamp" not in names(reply)
    assert all(set(item) == PRODUCT_FIELDS for item in body["items"])


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("kettle", ["Blue Kettle", "Yoga Mat"]),  # name, and description in another case
        ("KITCHEN", ["Blue Kettle", "Red Teapot", "Snake_case Mug"]),  # category
        ("GRIPPY", ["Trail Shoes"]),  # description
        ("100%", ["100% Cotton Tee"]),  # `%` is a character, not a wildcard
        ("%", ["100% Cotton Tee"]),
        ("_", ["Snake_case Mug"]),  # `_` is a character, not a wildcard
        ("d_c", []),  # as a wildcard it would match "Glazed ceramic"
        ("\\", []),
        ("' OR 1=1 --", []),
    ],
)
def test_search_matches_name_description_and_category_ignoring_case(
    client: LambdaClient, catalog: dict[str, Any], q: str, expected: list[str]
) -> None:
    reply = client.get("/products", params={"q": q})
    assert sorted(names(reply)) == expected
    assert reply.json()["total"] == len(expected)


@pytest.mark.parametrize("q", ["CRÈME BRÛLÉE", "crème brûlée", "KÜCHE", "ΑΓΓΕΊΟ"])
def test_search_ignores_case_beyond_ascii(client: LambdaClient, admin: Account, q: str) -> None:
    create(
        client,
        admin,
        sku="UNI-1",
        name="Crème Brûlée Torch",
        category="Küche",
        description="αγγείο",  # Greek: "vessel"
    )
    reply = client.get("/products", params={"q": q})
    assert names(reply) == ["Crème Brûlée Torch"]


@pytest.mark.parametrize("category", ["Home & Kitchen", "home-kitchen", "HOME & KITCHEN"])
def test_category_filter_takes_a_name_or_a_slug(
    client: LambdaClient, catalog: dict[str, Any], category: str
) -> None:
    reply = client.get("/products", params={"category": category})
    assert sorted(names(reply)) == ["Blue Kettle", "Red Teapot", "Snake_case Mug"]


def test_price_and_stock_filters(client: LambdaClient, catalog: dict[str, Any]) -> None:
    ranged = client.get("/products", params={"min_price": "12.50", "max_price": 30})
    assert sorted(names(ranged)) == ["100% Cotton Tee", "Blue Kettle", "Red Teapot", "Yoga Mat"]
    in_stock = client.get("/products", params={"in_stock": "true"})
    assert "Red Teapot" not in names(in_stock) and in_stock.json()["total"] == 5
    sold_out = client.get("/products", params={"in_stock": "false"})
    assert names(sold_out) == ["Red Teapot"]
    inverted = client.get("/products", params={"min_price": 50, "max_price": 10})
    assert inverted.status == 422 and inverted.is_problem


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["100% Cotton Tee", "Blue Kettle", "Red Teapot", "Snake_case Mug"]),
        ("-name", ["Yoga Mat", "Trail Shoes", "Snake_case Mug", "Red Teapot"]),
        ("price", ["Snake_case Mug", "Red Teapot", "100% Cotton Tee", "Yoga Mat"]),
        ("-price", ["Trail Shoes", "Blue Kettle", "Yoga Mat", "100% Cotton Tee"]),
        ("newest", ["Snake_case Mug", "100% Cotton Tee", "Yoga Mat", "Trail Shoes"]),
    ],
)
def test_every_sort_order(
    client: LambdaClient, catalog: dict[str, Any], sort: str, expected: list[str]
) -> None:
    reply = client.get("/products", params={"sort": sort, "page_size": 4})
    assert names(reply) == expected
    assert reply.json()["total"] == 6


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "price; DROP TABLE products"},
        {"page": 0},
        {"page_size": 0},
        {"page_size": 101},
        {"page": "one"},
        {"min_price": -1},
        {"max_price": "NaN"},
        {"in_stock": "maybe"},
    ],
)
def test_list_refuses_bad_query_values(
    client: LambdaClient, catalog: dict[str, Any], params: dict[str, Any]
) -> None:
    reply = client.get("/products", params=params)
    assert reply.status == 422 and reply.is_problem
    assert product_count() == 7


def test_paging_walks_the_whole_list(client: LambdaClient, catalog: dict[str, Any]) -> None:
    seen: list[str] = []
    for page in (1, 2, 3):
        reply = client.get("/products", params={"page": page, "page_size": 2})
        assert reply.json()["total"] == 6 and reply.json()["page"] == page
        seen.extend(names(reply))
    assert len(seen) == len(set(seen)) == 6
    past_the_end = client.get("/products", params={"page": 9, "page_size": 100})
    assert names(past_the_end) == [] and past_the_end.json()["total"] == 6
    assert len(names(client.get("/products", params={"page_size": 100}))) == 6


def test_categories_count_active_products(client: LambdaClient, catalog: dict[str, Any]) -> None:
    reply = client.get("/products/categories")
    assert reply.status == 200
    assert reply.json() == [
        {"name": "Apparel", "slug": "apparel", "product_count": 1},
        {"name": "Home & Kitchen", "slug": "home-kitchen", "product_count": 3},
        {"name": "Sports", "slug": "sports", "product_count": 2},
    ]


def test_a_deactivated_product_is_visible_to_admins_only(
    client: LambdaClient, catalog: dict[str, Any], admin: Account
) -> None:
    lamp_id = catalog["Retired Lamp"]["id"]
    shopper = sign_up(client)
    assert client.get(f"/products/{lamp_id}").status == 404
    assert client.get(f"/products/{lamp_id}", token=shopper.access_token).status == 404
    as_admin = client.get(f"/products/{lamp_id}", token=admin.access_token)
    assert as_admin.status == 200 and as_admin.json()["is_active"] is False
    kettle = client.get(f"/products/{catalog['Blue Kettle']['id']}")
    assert kettle.status == 200 and kettle.json() == catalog["Blue Kettle"]
    assert client.get("/products/2147483647").status == 404


# --- admin management ---------------------------------------------------------------------


def test_admin_creates_a_product(client: LambdaClient, admin: Account) -> None:
    body = {
        "sku": "NEW-1",
        "name": "Desk Lamp",
        "description": "Warm light",
        "category": "Home Office",
        "price": 19.9,
        "stock": 12,
        "image_url": "https://cdn.example.com/lamp.jpg",
        "id": 424242,
        "is_active": False,
    }
    reply = client.post("/products", json=body, token=admin.access_token)
    assert reply.status == 201
    product = reply.json()
    assert reply.headers["location"] == f"/products/{product['id']}"
    assert product["price"] == "19.90" and product["stock"] == 12
    assert product["id"] != 424242 and product["is_active"] is True
    assert set(product) == PRODUCT_FIELDS
    assert movements(product["id"]) == [(12, 12, "opening stock", admin.id)]
    assert client.get(f"/products/{product['id']}").json() == product


@pytest.mark.parametrize(
    ("sent", "shown"), [("19.99", "19.99"), (19.99, "19.99"), (5, "5.00"), ("7.5", "7.50")]
)
def test_price_is_accepted_as_number_or_string_and_shown_with_two_places(
    client: LambdaClient, admin: Account, sent: Any, shown: str
) -> None:
    product = create(client, admin, sku="P-1", price=sent)
    assert product["price"] == shown
    with session_scope() as session:
        assert session.scalar(select(Product.price)) == Decimal(shown)


@pytest.mark.parametrize(
    "raw_price",
    [
        "0",
        "-1",
        '"1.999"',
        '"NaN"',
        "NaN",
        "Infinity",
        "1e309",
        '"abc"',
        '"123456789012.00"',
        '"1_000"',
        '"1e2"',
        '"\u0661\u0662"',  # Arabic-Indic digits
        "true",
    ],
)
def test_invalid_prices_are_refused(client: LambdaClient, admin: Account, raw_price: str) -> None:
    raw = f'{{"sku": "P-1", "name": "X", "category": "C", "price": {raw_price}}}'.encode()
    reply = client.request(
        "POST",
        "/products",
        body=raw,
        headers={"content-type": "application/json"},
        token=admin.access_token,
    )
    assert reply.status == 422 and reply.is_problem
    assert any(error["loc"][-1] == "price" for error in reply.json()["errors"])
    assert product_count() == 0


@pytest.mark.parametrize(
    "fields",
    [{"stock": -1}, {"sku": "bad sku!"}, {"name": ""}, {"category": ""}, {"stock": 1.5}],
)
def test_invalid_product_fields_are_refused(
    client: LambdaClient, admin: Account, fields: dict[str, Any]
) -> None:
    body = {"sku": "P-1", "name": "X", "category": "C", "price": "1.00", **fields}
    reply = client.post("/products", json=body, token=admin.access_token)
    assert reply.status == 422
    assert product_count() == 0


def test_duplicate_sku_is_a_conflict(client: LambdaClient, admin: Account) -> None:
    create(client, admin, sku="DUP-1")
    again = client.post(
        "/products",
        json={"sku": "DUP-1", "name": "Other", "category": "C", "price": "2.00", "stock": 3},
        token=admin.access_token,
    )
    assert again.status == 409 and again.is_problem
    assert product_count() == 1
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(InventoryMovement)) == 1
    # A SKU differing only in letter case is another product, on every database.
    other = create(client, admin, sku="dup-1")
    assert other["sku"] == "dup-1" and product_count() == 2


def test_customers_cannot_manage_products(client: LambdaClient, admin: Account) -> None:
    product = create(client, admin, sku="P-1")
    shopper = sign_up(client)
    body = {"sku": "P-2", "name": "X", "category": "C", "price": "1.00"}
    assert client.post("/products", json=body).status == 401
    assert client.post("/products", json=body, token=shopper.access_token).status == 403
    path = f"/products/{product['id']}"
    assert client.patch(path, json={"price": "1.00"}, token=shopper.access_token).status == 403
    assert client.delete(path, token=shopper.access_token).status == 403
    inventory = {"delta": 5, "reason": "gift"}
    assert client.post(f"{path}/inventory", json=inventory).status == 401
    assert stored_stock(product["id"]) == 5 and product_count() == 1


def test_admin_updates_a_product_but_never_its_sku(client: LambdaClient, admin: Account) -> None:
    product = create(client, admin, sku="KEEP-1", name="Old", category="Old Cat", stock=5)
    reply = client.patch(
        f"/products/{product['id']}",
        json={
            "sku": "CHANGED",
            "name": "New",
            "category": "Garden Tools",
            "price": "3.10",
            "stock": 8,
        },
        token=admin.access_token,
    )
    assert reply.status == 200
    body = reply.json()
    assert body["sku"] == "KEEP-1" and body["name"] == "New" and body["price"] == "3.10"
    assert body["stock"] == 8 and body["category"] == "Garden Tools"
    assert movements(product["id"])[-1] == (3, 8, "stock set by admin", admin.id)
    by_slug = client.get("/products", params={"category": "garden-tools"})
    assert names(by_slug) == ["New"]


@pytest.mark.parametrize("fields", [{"price": None}, {"name": None}, {"price": "0"}])
def test_patch_refuses_nulls_and_invalid_values(
    client: LambdaClient, admin: Account, fields: dict[str, Any]
) -> None:
    product = create(client, admin, sku="P-1")
    reply = client.patch(f"/products/{product['id']}", json=fields, token=admin.access_token)
    assert reply.status == 422
    assert client.get(f"/products/{product['id']}").json() == product


def test_patch_of_an_unknown_product_is_404(client: LambdaClient, admin: Account) -> None:
    reply = client.patch("/products/2147483000", json={"name": "X"}, token=admin.access_token)
    assert reply.status == 404 and reply.is_problem


def test_delete_deactivates_and_admins_can_reactivate(client: LambdaClient, admin: Account) -> None:
    product = create(client, admin, sku="P-1")
    gone = client.delete(f"/products/{product['id']}", token=admin.access_token)
    assert gone.status == 204 and gone.body == b""
    assert product_count() == 1
    assert client.get("/products").json()["total"] == 0
    back = client.patch(
        f"/products/{product['id']}", json={"is_active": True}, token=admin.access_token
    )
    assert back.status == 200 and back.json()["is_active"] is True
    assert client.get("/products").json()["total"] == 1


# --- inventory ----------------------------------------------------------------------------


def test_inventory_changes_are_applied_and_recorded(client: LambdaClient, admin: Account) -> None:
    product = create(client, admin, sku="INV-1", stock=5)
    path = f"/products/{product['id']}/inventory"
    added = client.post(path, json={"delta": 7, "reason": "restock"}, token=admin.access_token)
    assert added.status == 200 and added.json()["stock"] == 12
    taken = client.post(path, json={"delta": -12, "reason": "damaged"}, token=admin.access_token)
    assert taken.status == 200 and taken.json()["stock"] == 0
    assert movements(product["id"]) == [
        (5, 5, "opening stock", admin.id),
        (7, 12, "restock", admin.id),
        (-12, 0, "damaged", admin.id),
    ]


def test_inventory_never_goes_below_zero(client: LambdaClient, admin: Account) -> None:
    product = create(client, admin, sku="INV-1", stock=3)
    reply = client.post(
        f"/products/{product['id']}/inventory",
        json={"delta": -4, "reason": "oversell"},
        token=admin.access_token,
    )
    assert reply.status == 409 and reply.is_problem
    assert stored_stock(product["id"]) == 3
    assert len(movements(product["id"])) == 1


@pytest.mark.parametrize(
    "body",
    [{"delta": 0, "reason": "nothing"}, {"delta": 1}, {"delta": 1, "reason": ""}, {"delta": "x"}],
)
def test_inventory_refuses_invalid_changes(
    client: LambdaClient, admin: Account, body: dict[str, Any]
) -> None:
    product = create(client, admin, sku="INV-1", stock=3)
    reply = client.post(f"/products/{product['id']}/inventory", json=body, token=admin.access_token)
    assert reply.status == 422
    assert stored_stock(product["id"]) == 3 and len(movements(product["id"])) == 1


def test_inventory_of_an_unknown_product_is_404(client: LambdaClient, admin: Account) -> None:
    reply = client.post(
        "/products/2147483000/inventory",
        json={"delta": 1, "reason": "x"},
        token=admin.access_token,
    )
    assert reply.status == 404


def test_concurrent_decrements_never_drive_stock_below_zero(
    client: LambdaClient, admin: Account
) -> None:
    product = create(client, admin, sku="RACE-1", stock=5)
    path = f"/products/{product['id']}/inventory"
    statuses: list[int] = []
    start = threading.Barrier(10)

    def take_one() -> None:
        caller = LambdaClient()  # each thread: its own handler call, session and connection
        start.wait()
        reply = caller.post(path, json={"delta": -1, "reason": "race"}, token=admin.access_token)
        statuses.append(reply.status)

    threads = [threading.Thread(target=take_one) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 5 + [409] * 5
    assert stored_stock(product["id"]) == 0
    ledger = movements(product["id"])
    assert [row[0] for row in ledger] == [5, -1, -1, -1, -1, -1]
    assert sorted(row[1] for row in ledger[1:]) == [0, 1, 2, 3, 4]


# --- low stock (extension for the admin dashboard) ----------------------------------------


def test_low_stock_lists_active_products_lowest_first(
    client: LambdaClient, catalog: dict[str, Any], admin: Account
) -> None:
    reply = client.get("/products/low-stock", params={"threshold": 4}, token=admin.access_token)
    assert reply.status == 200
    assert names(reply) == ["Red Teapot", "Snake_case Mug", "100% Cotton Tee", "Blue Kettle"]
    assert [item["stock"] for item in reply.json()["items"]] == [0, 2, 3, 4]
    assert reply.json()["total"] == 4
    default = client.get("/products/low-stock", token=admin.access_token)
    assert default.json()["total"] == 6  # threshold 10 by default; the retired lamp never
    paged = client.get(
        "/products/low-stock", params={"page": 2, "page_size": 2}, token=admin.access_token
    )
    assert names(paged) == ["100% Cotton Tee", "Blue Kettle"]


def test_low_stock_is_for_admins_and_validates_the_threshold(
    client: LambdaClient, catalog: dict[str, Any], admin: Account
) -> None:
    shopper = sign_up(client)
    assert client.get("/products/low-stock").status == 401
    assert client.get("/products/low-stock", token=shopper.access_token).status == 403
    for threshold in (-1, "ten", 10**12):
        reply = client.get(
            "/products/low-stock", params={"threshold": threshold}, token=admin.access_token
        )
        assert reply.status == 422 and reply.is_problem
    too_big = client.get("/products/low-stock", params={"page_size": 101}, token=admin.access_token)
    assert too_big.status == 422


# --- seed ---------------------------------------------------------------------------------


def test_seed_catalog_has_18_products_in_5_categories_and_is_idempotent(
    client: LambdaClient,
) -> None:
    from shop.services.seed import seed_catalog

    with session_scope() as session:
        added = seed_catalog(session)
    assert added >= 18
    with session_scope() as session:
        assert seed_catalog(session) == 0
    assert product_count() == added
    categories = client.get("/products/categories").json()
    assert len(categories) == 5
    assert sum(category["product_count"] for category in categories) == added
    listing = client.get("/products", params={"page_size": 100}).json()
    assert listing["total"] == added
    assert all(Decimal(item["price"]) > 0 and item["description"] for item in listing["items"])
    with session_scope() as session:
        ledger = session.scalar(select(func.count()).select_from(InventoryMovement))
    assert ledger == added


# --- behavior events ----------------------------------------------------------------------


def events(user_id: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    with session_scope() as session:
        rows = session.execute(
            select(BehaviorEvent.event_type, BehaviorEvent.product_id, BehaviorEvent.payload)
            .where(BehaviorEvent.user_id == user_id)
            .order_by(BehaviorEvent.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_signed_in_search_and_view_are_recorded(
    client: LambdaClient, catalog: dict[str, Any]
) -> None:
    shopper = sign_up(client)
    kettle_id = catalog["Blue Kettle"]["id"]
    assert client.get("/products", params={"q": "kettle"}, token=shopper.access_token).status == 200
    assert client.get(f"/products/{kettle_id}", token=shopper.access_token).status == 200
    assert events(shopper.id) == [
        ("login", None, {}),
        ("search", None, {"q": "kettle", "results": 2}),
        ("product_view", kettle_id, {}),
    ]


def test_anonymous_browsing_records_nothing(client: LambdaClient, catalog: dict[str, Any]) -> None:
    client.get("/products", params={"q": "kettle"})
    client.get(f"/products/{catalog['Blue Kettle']['id']}")
    with session_scope() as session:
        anonymous = session.scalar(
            select(func.count()).select_from(BehaviorEvent).where(BehaviorEvent.user_id.is_(None))
        )
    assert anonymous == 0
