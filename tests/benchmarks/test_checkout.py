"""Checkout on PostgreSQL: a 5-line cart vs a bare single-row insert, and 8 workers on one
hot product.

Each checkout (the service call: claim the idempotency key, lock the cart, take stock for five
products, write the order, its lines, history, ledger and event, empty the cart) is paired
with a bare one-row INSERT in its own transaction on the same engine, alternating, so machine
load hits both alike; the result is the ratio of their p50s. Refilling the cart is not timed.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal

from measure import Section, median, on_postgresql, percentile, timed

CHECKOUTS = int(os.environ.get("BENCH_CHECKOUTS", "500"))
WORKERS = 8
HOT_ATTEMPTS_PER_WORKER = int(os.environ.get("BENCH_HOT_ATTEMPTS", "60"))
TARGET = 25.0
ADDRESS = {
    "name": "Bench Buyer",
    "line1": "1 Load Lane",
    "line2": None,
    "city": "Testville",
    "postal_code": "00001",
    "country": "NL",
}


def _new_user(email_prefix: str) -> int:
    from shop.db import session_scope
    from shop.models import User

    with session_scope() as session:
        user = User(
            email=f"{email_prefix}-{uuid.uuid4().hex[:8]}@example.com",
            full_name="Bench",
            password_hash="x",
        )
        session.add(user)
        session.flush()
        return user.id


def _products(count: int, stock: int) -> list[int]:
    from shop.db import session_scope
    from shop.models import Product

    with session_scope() as session:
        products = [
            Product(
                sku=f"BENCH-{uuid.uuid4().hex[:10]}",
                name=f"Bench product {n}",
                category="Bench",
                category_slug="bench",
                price=Decimal("12.34"),
                stock=stock,
            )
            for n in range(count)
        ]
        session.add_all(products)
        session.flush()
        return [p.id for p in products]


def _fill_cart(user_id: int, lines: dict[int, int]) -> None:
    """Put `lines` (product -> quantity) in the user's cart directly (setup, not measured)."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import Cart, CartItem

    with session_scope() as session:
        cart_id = session.scalar(select(Cart.id).where(Cart.user_id == user_id))
        if cart_id is None:
            cart = Cart(user_id=user_id)
            session.add(cart)
            session.flush()
            cart_id = cart.id
        session.add_all(
            CartItem(cart_id=cart_id, product_id=p, quantity=q) for p, q in lines.items()
        )


def _checkout(user_id: int) -> int:
    """Place one order through the service; the HTTP status the route would answer."""
    from shop.db import new_session
    from shop.errors import Conflict
    from shop.services.orders import place_order

    session = new_session()
    try:
        place_order(session, user_id, ADDRESS, idempotency_key=uuid.uuid4().hex)
        return 201
    except Conflict:
        return 409
    finally:
        session.close()


@on_postgresql
def test_checkout_of_a_five_line_cart_stays_within_25x_a_bare_insert(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

    from shop.db import get_engine, session_scope
    from shop.models import Order

    engine = get_engine()
    scratch = Table(
        "bench_scratch",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("note", String(50), nullable=False),
    )
    scratch.create(engine, checkfirst=True)
    user_id = _new_user("bench-checkout")
    products = _products(5, stock=CHECKOUTS * 2 + 10)

    def bare_insert() -> None:
        with engine.begin() as connection:
            connection.execute(scratch.insert().values(note="one row"))

    checkout_times: list[float] = []
    insert_times: list[float] = []
    statuses: list[int] = []
    try:
        for _ in range(CHECKOUTS):
            _fill_cart(user_id, dict.fromkeys(products, 2))
            checkout_times.append(timed(lambda: statuses.append(_checkout(user_id))))
            insert_times.append(timed(bare_insert))
    finally:
        scratch.drop(engine)

    assert statuses == [201] * CHECKOUTS
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == CHECKOUTS
    checkout_p50, insert_p50 = median(checkout_times), median(insert_times)
    ratio = checkout_p50 / insert_p50
    section = bench_report(
        f"Checkout of a 5-line cart on PostgreSQL ({CHECKOUTS} checkouts, "
        "each paired with a bare insert)"
    )
    section.add("bare one-row INSERT + COMMIT, same engine (p50)", insert_p50, ratio=1.0)
    section.add(
        "place_order: claim key + checkout transaction (p50)",
        checkout_p50,
        ratio=ratio,
        target=f"<= {TARGET:.0f}x",
    )
    section.add("place_order (p99)", percentile(checkout_times, 0.99))
    section.add("bare INSERT (p99)", percentile(insert_times, 0.99))
    section.verdict = "within target" if ratio <= TARGET else "OVER TARGET"
    print("\n" + section.render())
    assert ratio <= TARGET, f"checkout p50 is {ratio:.1f}x a bare insert (target {TARGET}x)"


@on_postgresql
def test_eight_workers_checking_out_one_hot_product_see_only_409s_as_errors(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy import func, select

    from shop.db import session_scope
    from shop.models import Order, Product

    attempts = WORKERS * HOT_ATTEMPTS_PER_WORKER
    stock = attempts * 3 // 4  # a quarter of the attempts must find the product sold out
    (hot,) = _products(1, stock=stock)
    users = [_new_user(f"hot-{n}") for n in range(WORKERS)]
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(WORKERS)
    busy = [0.0] * WORKERS

    def worker(index: int) -> None:
        start.wait()
        for _ in range(HOT_ATTEMPTS_PER_WORKER):
            _fill_cart(users[index], {hot: 1})
            began = time.perf_counter()
            try:
                status = _checkout(users[index])
            except BaseException as exc:
                with lock:
                    failures.append(exc)
                return
            busy[index] += time.perf_counter() - began
            with lock:
                statuses.append(status)
            if status == 409:
                _clear_cart(users[index])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began

    assert failures == []
    assert set(statuses) <= {201, 409}
    placed = statuses.count(201)
    assert placed == stock
    with session_scope() as session:
        assert session.scalar(select(Product.stock).where(Product.id == hot)) == 0
        assert session.scalar(select(func.count()).select_from(Order)) == placed
    checkout_seconds = sum(busy)
    section = bench_report(
        f"{WORKERS} concurrent checkout workers, one hot product (stock {stock}, "
        f"{attempts} attempts) on PostgreSQL"
    )
    section.add("mean checkout call under contention", checkout_seconds / len(statuses))
    section.notes.append(
        f"orders placed: {placed} (201), sold out: {statuses.count(409)} (409), "
        f"other errors: {len(failures)}"
    )
    section.notes.append(
        f"throughput: {placed / wall:.0f} orders/s, {len(statuses) / wall:.0f} checkout "
        f"attempts/s over {wall:.2f} s wall clock (cart refills included)"
    )
    section.verdict = "no errors besides the expected 409s; stock ends at exactly 0"
    print("\n" + section.render())


def _clear_cart(user_id: int) -> None:
    from sqlalchemy import delete, select

    from shop.db import session_scope
    from shop.models import Cart, CartItem

    with session_scope() as session:
        session.execute(
            delete(CartItem).where(
                CartItem.cart_id.in_(select(Cart.id).where(Cart.user_id == user_id))
            )
        )
