"""Recommendations in the storefront: what the predict function serves, and what it never does."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from recommending import baskets, customers, publish_model
from shopping import add_to_cart, bulk_products, checkout
from support import Account, LambdaClient, make_admin, sign_up

from shop.coltypes import utcnow


@pytest.fixture(autouse=True)
def no_model(db: str) -> Iterator[None]:
    """Every test starts without a recommendation model (the store outlives the database)."""
    from shop.ml.recommend_serving import champion
    from shop.settings import get_settings

    shutil.rmtree(get_settings().data_dir / "artifacts" / "models" / "recommendations", True)
    champion.clear()
    yield
    champion.clear()


@pytest.fixture
def shelf() -> dict[str, int]:
    """Two groups that sell together (tea things, tent things) and a loner, 5 units each."""
    names = ["tea", "cups", "kettle", "honey", "tent", "pegs", "lamp", "mat", "book"]
    return dict(zip(names, bulk_products(len(names), stock=5), strict=True))


def history(shelf: dict[str, int], shoppers: int = 6) -> None:
    """Shoppers who buy tea with cups or a kettle, and a tent with pegs or a lamp."""
    now = utcnow()
    for n, user in enumerate(customers(shoppers)):
        day = now - timedelta(days=20 + n)
        baskets(
            user,
            (day, [shelf["tea"], shelf["cups"], shelf["kettle"]]),
            (day + timedelta(days=1), [shelf["tent"], shelf["pegs"], shelf["lamp"]]),
            (day + timedelta(days=2), [shelf["tea"], shelf["kettle"] if n % 2 else shelf["cups"]]),
        )


def recommended(reply: Any) -> list[int]:
    assert reply.status == 200, reply.body
    return [p["id"] for p in reply.json()["products"]]


def set_product(client: LambdaClient, admin: Account, product_id: int, **changes: Any) -> None:
    reply = client.patch(f"/products/{product_id}", json=changes, token=admin.access_token)
    assert reply.status == 200, reply.body


def test_a_new_shop_shows_its_products_on_sale_as_best_sellers_and_says_so(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    admin = make_admin(client)
    set_product(client, admin, shelf["cups"], stock=0)
    set_product(client, admin, shelf["kettle"], is_active=False)
    reply = client.get(f"/ml/recommendations/products/{shelf['tea']}", params={"limit": 30})
    body = reply.json()
    assert reply.status == 200 and body["source"] == "best_sellers"
    assert "No recommendation model" in body["reason"] and body["model_version"] is None
    shown = recommended(reply)
    assert shelf["tea"] not in shown  # never the product itself
    assert shelf["cups"] not in shown and shelf["kettle"] not in shown
    assert set(shown) == set(shelf.values()) - {shelf["tea"], shelf["cups"], shelf["kettle"]}


def test_often_bought_together_ranks_the_products_of_the_same_baskets_first(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    history(shelf)
    version = publish_model()
    reply = client.get(f"/ml/recommendations/products/{shelf['tea']}", params={"limit": 2})
    assert reply.json()["source"] == "model" and reply.json()["model_version"] == version
    assert set(recommended(reply)) == {shelf["cups"], shelf["kettle"]}
    tent = recommended(client.get(f"/ml/recommendations/products/{shelf['tent']}"))
    assert set(tent[:2]) == {shelf["pegs"], shelf["lamp"]}


def test_out_of_stock_and_inactive_products_are_never_recommended(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    history(shelf)
    publish_model()
    admin = make_admin(client)
    set_product(client, admin, shelf["cups"], stock=0)
    set_product(client, admin, shelf["kettle"], is_active=False)
    shown = recommended(client.get(f"/ml/recommendations/products/{shelf['tea']}"))
    assert shown and shelf["cups"] not in shown and shelf["kettle"] not in shown
    tent = client.get(f"/ml/recommendations/products/{shelf['tent']}").json()
    assert tent["source"] == "model" and shelf["pegs"] in [p["id"] for p in tent["products"]]
    cart = client.get(
        "/ml/recommendations/together", params={"product_ids": [shelf["tea"], shelf["tent"]]}
    )
    shown = recommended(cart)
    assert {shelf["pegs"], shelf["lamp"]} <= set(shown)
    assert not {shelf["cups"], shelf["kettle"], shelf["tea"], shelf["tent"]} & set(shown)


def test_the_cart_gets_what_goes_with_all_of_it_and_never_what_it_holds(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    history(shelf)
    publish_model()
    reply = client.get(
        "/ml/recommendations/together", params={"product_ids": [shelf["tea"], shelf["tent"]]}
    )
    shown = recommended(reply)
    assert set(shown[:4]) == {shelf["cups"], shelf["kettle"], shelf["pegs"], shelf["lamp"]}
    assert shelf["tea"] not in shown and shelf["tent"] not in shown


def test_picked_for_you_never_lists_what_the_customer_bought_even_since_training(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    history(shelf)
    shopper = sign_up(client)
    baskets(shopper.id, (utcnow() - timedelta(days=3), [shelf["tea"]]))
    publish_model()
    first = client.get("/ml/recommendations/for-you", token=shopper.access_token)
    assert first.json()["source"] == "model"
    assert set(recommended(first)[:2]) == {shelf["cups"], shelf["kettle"]}
    assert shelf["tea"] not in recommended(first)
    baskets(shopper.id, (utcnow() - timedelta(hours=1), [shelf["cups"]]))  # after the training
    again = recommended(client.get("/ml/recommendations/for-you", token=shopper.access_token))
    assert shelf["kettle"] in again and shelf["cups"] not in again and shelf["tea"] not in again


def test_a_customer_the_model_does_not_know_gets_best_sellers_they_never_bought(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    history(shelf)
    publish_model()
    shopper = sign_up(client)
    baskets(shopper.id, (utcnow() - timedelta(minutes=5), [shelf["tea"]]))
    reply = client.get("/ml/recommendations/for-you", token=shopper.access_token)
    assert reply.json()["source"] == "best_sellers" and "taste" in reply.json()["reason"]
    shown = recommended(reply)
    assert shown and shelf["tea"] not in shown


def test_buy_again_ranks_what_the_customer_buys_often_and_lately_first(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    history(shelf)
    shopper = sign_up(client)
    now = utcnow()
    baskets(
        shopper.id,
        (now - timedelta(days=200), [shelf["book"]]),
        (now - timedelta(days=30), [shelf["tea"], shelf["honey"]]),
        (now - timedelta(days=10), [shelf["tea"]]),
        (now - timedelta(days=2), [shelf["tea"], shelf["honey"]]),
    )
    publish_model()
    reply = client.get("/ml/recommendations/buy-again", token=shopper.access_token)
    assert reply.json()["source"] == "model"
    assert recommended(reply) == [shelf["tea"], shelf["honey"], shelf["book"]]
    admin = make_admin(client)
    set_product(client, admin, shelf["honey"], stock=0)
    reply = client.get("/ml/recommendations/buy-again", token=shopper.access_token)
    assert recommended(reply) == [shelf["tea"], shelf["book"]]


def test_buy_again_without_a_model_lists_the_customers_own_purchases(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    shopper = sign_up(client)
    now = utcnow()
    baskets(shopper.id, (now - timedelta(days=9), [shelf["mat"]]), (now, [shelf["mat"]]))
    reply = client.get("/ml/recommendations/buy-again", token=shopper.access_token)
    assert reply.json()["source"] == "order_history" and recommended(reply) == [shelf["mat"]]


def test_personal_lists_need_a_signed_in_customer_and_bad_input_is_422(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    for path in ("/ml/recommendations/for-you", "/ml/recommendations/buy-again"):
        assert client.get(path).status == 401
    bad = [
        ("/ml/recommendations/products/0", {}),
        (f"/ml/recommendations/products/{shelf['tea']}", {"limit": 0}),
        (f"/ml/recommendations/products/{shelf['tea']}", {"limit": 31}),
        ("/ml/recommendations/together", {}),
        ("/ml/recommendations/together", {"product_ids": ["tea"]}),
        ("/ml/recommendations/together", {"product_ids": list(range(1, 52))}),
    ]
    for path, params in bad:
        reply = client.get(path, params=params)
        assert reply.status == 422 and reply.is_problem, (path, params, reply.body)


def test_sales_from_recommendations_are_counted_from_the_clicks_that_led_to_them(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    admin = make_admin(client)
    shopper = sign_up(client)
    viewed = client.get(
        f"/products/{shelf['lamp']}",
        params={"source": "often_bought_together"},
        token=shopper.access_token,
    )
    assert viewed.status == 200
    added = client.post(
        "/cart/items",
        json={"product_id": shelf["lamp"], "quantity": 2, "source": "often_bought_together"},
        token=shopper.access_token,
    )
    assert added.status == 201, added.body
    assert add_to_cart(client, shopper, shelf["book"]).status == 201  # not from a list
    assert checkout(client, shopper).status == 201
    other = sign_up(client)
    client.get(
        f"/products/{shelf['mat']}", params={"source": "picked_for_you"}, token=other.access_token
    )
    reply = client.get("/ml/recommendations/impact", token=admin.access_token)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert (body["product_views"], body["cart_adds"], body["orders"]) == (2, 1, 1)
    assert body["revenue"] == "2.00"  # the lamp's line only (2 x 1.00), not the book
    assert body["orders_by_source"]["often_bought_together"] == 1
    assert body["source"] == "best_sellers" and body["reason"]
    assert client.get("/ml/recommendations/impact", token=shopper.access_token).status == 403


def test_an_unknown_recommendation_source_is_refused_and_records_nothing(
    client: LambdaClient, shelf: dict[str, int]
) -> None:
    shopper = sign_up(client)
    reply = client.get(
        f"/products/{shelf['tea']}", params={"source": "spam"}, token=shopper.access_token
    )
    assert reply.status == 422 and reply.is_problem
    reply = client.post(
        "/cart/items",
        json={"product_id": shelf["tea"], "source": "spam"},
        token=shopper.access_token,
    )
    assert reply.status == 422 and reply.is_problem
    cart = client.get("/cart", token=shopper.access_token).json()
    assert cart["items"] == []
