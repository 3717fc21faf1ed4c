"""Sales stats best sellers: two rankings from one query must each keep their own top N."""

from __future__ import annotations

from paying import place_and_pay
from shopping import new_product
from support import Account, LambdaClient, make_admin, sign_up


def buy(client: LambdaClient, lines: list[tuple[int, int]]) -> Account:
    """A new shopper who ordered and paid these (product, quantity) lines: sales count paid
    money only."""
    shopper = sign_up(client)
    place_and_pay(client, shopper, lines)
    return shopper


def names(products: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(p["name"], p["quantity"], p["revenue"]) for p in products]


def test_best_sellers_keep_separate_top_n_by_revenue_and_by_quantity_with_ties_broken(
    client: LambdaClient,
) -> None:
    admin: Account = make_admin(client)
    bowl = new_product(client, admin, name="Bowl", price="5.00", stock=50)
    fork = new_product(client, admin, name="Fork", price="5.00", stock=50)
    cup = new_product(client, admin, name="Cup", price="1.00", stock=50)
    lamp = new_product(client, admin, name="Lamp", price="30.00", stock=50)
    knife = new_product(client, admin, name="Knife", price="2.50", stock=50)
    buy(client, [(cup, 10), (bowl, 3)])
    buy(client, [(lamp, 1), (knife, 6), (fork, 3)])
    regretful = buy(client, [(lamp, 5)])
    order = client.get("/orders", token=regretful.access_token).json()["items"][0]
    cancel = client.post(f"/orders/{order['id']}/cancel", token=regretful.access_token)
    assert cancel.status == 200, cancel.body

    reply = client.get("/orders/stats", params={"top": 3}, token=admin.access_token)

    assert reply.status == 200, reply.body
    stats = reply.json()
    # Knife ties Bowl and Fork on revenue but sold more; Bowl and Fork tie on both: lower id.
    assert names(stats["top_products_by_revenue"]) == [
        ("Lamp", 1, "30.00"),
        ("Knife", 6, "15.00"),
        ("Bowl", 3, "15.00"),
    ]
    assert names(stats["top_products_by_quantity"]) == [
        ("Cup", 10, "10.00"),
        ("Knife", 6, "15.00"),
        ("Bowl", 3, "15.00"),
    ]
    assert [p["product_id"] for p in stats["top_products_by_revenue"]] == [lamp, knife, bowl]
    assert stats["totals"]["customers"] == 2
    assert stats["totals"]["items_sold"] == 23
