"""`make load-containers`: many Lambda containers, few database connections.

Each of LOAD_WORKERS worker processes (64) plays one warm Lambda container: its own engine
with a pool of 1, calling the real handlers in-process (no HTTP) with the browse / cart /
checkout mix for LOAD_SECONDS (60). The same load runs twice: through PgBouncer in
transaction mode with 8 server connections, and on direct connections (one each). Then:

- every answer must be expected: 200 for reads, 201 or 409 (sold out, empty cart) for adding
  to the cart and checking out; anything else, 5xx above all, is an error;
- the audit of tests/load/run_load.py: no product below zero, stock equal to its ledger,
  units in live orders equal to units taken from stock, every 201 order stored with its stock.

Prints requests/s per route for each, exits 1 if anything fails. Loopback only (PostgreSQL
at LOAD_PG_URL, PgBouncer on a free port), bounded by LOAD_SECONDS; the databases are
dropped at the end. CI runs a short version (tests/concurrency/test_many_containers.py).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/
from pg_databases import create_postgres_database, drop_postgres_database
from pgbouncer import pgbouncer
from run_load import PG_SERVER, audit

ROUTES = ("pgbouncer", "direct")
SERVER_CONNECTIONS = 8
#: (action, weight, statuses that are not errors)
MIX: tuple[tuple[str, int, tuple[int, ...]], ...] = (
    ("browse", 6, (200,)),
    ("view", 4, (200,)),
    ("add_to_cart", 5, (201, 409)),
    ("checkout", 2, (201, 409)),
)
ADDRESS = {
    "name": "Container Shopper",
    "line1": "1 Pool Road",
    "city": "Loadtown",
    "postal_code": "LT1 1AA",
    "country": "GB",
}


def _environment(url: str, data_dir: Path) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "DATA_DIR": str(data_dir),
            "DB_POOL_SIZE": "1",
            "BCRYPT_ROUNDS": "4",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("LOAD_LOG_LEVEL", "CRITICAL"),
            "ENVIRONMENT": "test",
        }
    )
    from shop.db import reset_engine
    from shop.settings import get_settings

    get_settings.cache_clear()
    reset_engine()


def _prepare_shop(url: str, data_dir: Path) -> list[int]:
    """Migrate, seed the catalog, make three products scarce; every product id."""
    from sqlalchemy import select

    from shop.db import reset_engine, session_scope
    from shop.migrate import upgrade
    from shop.models import Product
    from shop.services.catalog import update_product
    from shop.services.seed import seed_catalog
    from shop.signing_keys import get_key_pair

    _environment(url, data_dir)
    upgrade()
    get_key_pair()  # written once here, read by every container
    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        ids = list(session.scalars(select(Product.id).order_by(Product.price, Product.id)))
        for product_id in ids[:3]:
            update_product(session, product_id, {"stock": 5}, actor_id=None)
    reset_engine()
    return ids


def _container(
    index: int, url: str, data_dir: str, products: list[int], seconds: float, start: Any, out: Any
) -> None:
    """One warm container: sign up, wait for the start, then the mix until the time is up."""
    from support import LambdaClient, sign_up

    # Mangum made the parent's event loop when the handlers were loaded: its epoll and wakeup
    # pipe would be shared by every fork, and one container's wakeups lost to another's.
    asyncio.set_event_loop(asyncio.new_event_loop())
    _environment(url, Path(data_dir))
    client = LambdaClient()
    shopper = sign_up(client)
    rng = random.Random(index)
    counts: Counter[tuple[str, int]] = Counter()
    orders: list[int] = []
    actions = [name for name, _, _ in MIX]
    weights = [weight for _, weight, _ in MIX]
    start.wait()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        action = rng.choices(actions, weights)[0]
        product = rng.choice(products)
        if action == "browse":
            reply = client.get("/products", params={"page": rng.randint(1, 2), "page_size": 10})
        elif action == "view":
            reply = client.get(f"/products/{product}", token=shopper.access_token)
        elif action == "add_to_cart":
            body = {"product_id": product, "quantity": rng.randint(1, 2)}
            reply = client.post("/cart/items", json=body, token=shopper.access_token)
        else:
            reply = client.post(
                "/orders",
                json={"shipping_address": ADDRESS},
                token=shopper.access_token,
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            if reply.status == 201:
                orders.append(reply.json()["id"])
        counts[(action, reply.status)] += 1
    out.put((dict(counts), orders))


def run(route: str, workers: int, seconds: float, work: Path) -> tuple[bool, float]:
    """The load on one route, then the audit: (passed, requests per second)."""
    name = f"shopfn_containers_{route}_{os.getpid()}"
    direct = create_postgres_database(PG_SERVER, name)
    try:
        data_dir = work / route
        products = _prepare_shop(direct, data_dir)
        if route == "pgbouncer":
            folder = work / "pgbouncer"
            folder.mkdir(exist_ok=True)
            with pgbouncer(PG_SERVER, folder, pool_size=SERVER_CONNECTIONS) as pooler:
                counts, orders = _drive(
                    pooler.url_for(direct), data_dir, products, workers, seconds
                )
        else:
            counts, orders = _drive(direct, data_dir, products, workers, seconds)
        return _report(route, counts, orders, seconds, direct)
    finally:
        drop_postgres_database(PG_SERVER, name)


def _warm_up(url: str, data_dir: Path) -> None:
    """Import every handler once in the parent, so each forked container starts warm.

    Nothing is invoked here: a fork must carry no connection and no worker thread (the
    handlers' thread pool would wait forever for threads the child does not have).
    """
    from support import LambdaClient  # noqa: F401 - imported before the fork

    from shopfn.loader import load_handler
    from shopfn.manifest import load_manifest

    _environment(url, data_dir)
    manifest = load_manifest()
    for name in ("users", "products", "cart", "orders"):
        load_handler(manifest.get(name))


def _drive(
    url: str, data_dir: Path, products: list[int], workers: int, seconds: float
) -> tuple[Counter[tuple[str, int]], list[int]]:
    _warm_up(url, data_dir)
    context = multiprocessing.get_context("fork")  # every container starts warm, as in Lambda
    start = context.Barrier(workers + 1)
    out = context.Queue()
    processes = [
        context.Process(
            target=_container, args=(i, url, str(data_dir), products, seconds, start, out)
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait(timeout=120)
    counts: Counter[tuple[str, int]] = Counter()
    orders: list[int] = []
    for _ in processes:
        done, placed = out.get(timeout=seconds + 120)
        counts.update(done)
        orders.extend(placed)
    for process in processes:
        process.join(30)
    return counts, orders


def _report(
    route: str, counts: Counter[tuple[str, int]], orders: list[int], seconds: float, url: str
) -> tuple[bool, float]:
    expected = {name: allowed for name, _, allowed in MIX}
    errors = {key: n for key, n in counts.items() if key[1] not in expected[key[0]]}
    total = sum(counts.values())
    print(f"\n{route}: {total} requests in {seconds:.0f} s = {total / seconds:.1f} req/s")
    for name, _, _ in MIX:
        statuses = {status: n for (action, status), n in sorted(counts.items()) if action == name}
        print(f"  {name:<12} {sum(statuses.values()) / seconds:7.1f} req/s  {statuses}")
    server_errors = sum(n for (_, status), n in counts.items() if status >= 500)
    problems = audit(url, {"orders": orders, "server_errors": server_errors})
    if errors:
        problems.append(f"unexpected answers (action, status): {errors}")
    print(f"  orders placed: {len(orders)}")
    for problem in problems:
        print(f"  FAILED: {problem}")
    return not problems, total / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("LOAD_WORKERS", "64")))
    parser.add_argument(
        "--seconds", type=float, default=float(os.environ.get("LOAD_SECONDS", "60"))
    )
    parser.add_argument("--routes", default=",".join(ROUTES), help="pgbouncer,direct")
    args = parser.parse_args()
    routes = [route for route in args.routes.split(",") if route]
    assert set(routes) <= set(ROUTES), routes
    with tempfile.TemporaryDirectory(prefix="shopfn-containers-") as work:
        results = {route: run(route, args.workers, args.seconds, Path(work)) for route in routes}
    if len(results) == 2:
        ratio = results["pgbouncer"][1] / results["direct"][1]
        print(f"\nthroughput through PgBouncer / direct: {ratio:.2f}")
    passed = all(ok for ok, _ in results.values())
    print("load audit passed" if passed else "LOAD AUDIT FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
