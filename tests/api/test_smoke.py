from __future__ import annotations

from support import LambdaClient, make_admin, sign_up


def test_health_reports_database_ok(client: LambdaClient, database: str) -> None:
    reply = client.get("/users/health")
    assert reply.status == 200
    assert reply.json() == {
        "status": "ok",
        "service": "users",
        "version": "0.1.0",
        "database": "ok",
    }


def test_customer_signs_up_and_admin_creates_product(client: LambdaClient) -> None:
    shopper = sign_up(client)
    me = client.get("/users/me", token=shopper.access_token)
    assert me.status == 200 and me.json()["role"] == "customer"
    admin = make_admin(client)
    created = client.post(
        "/products",
        json={"sku": "T-1", "name": "Teapot", "category": "Home", "price": "12.50", "stock": 3},
        token=admin.access_token,
    )
    assert created.status == 201, created.body
    assert created.json()["price"] == "12.50"
    assert created.headers["location"] == f"/products/{created.json()['id']}"
