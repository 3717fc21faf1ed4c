"""Run by the driver benchmark: one PostgreSQL driver variant in its own interpreter.

`driver_worker.py serve <user_id>`: a warm container. It answers commands read from stdin,
one per line (`warm N`, `checkout N`, `features N`), with a line starting with ANSWER and
the N timed calls in seconds (a JSON list): warm `GET /products/{id}` through the products
handler, `place_order` of a 5-line cart (refilling the cart is not timed), and one
prediction's feature query.

`driver_worker.py cold <path>`: a Lambda cold start to its first query, the products
handler imported and answering `GET <path>` (`cold_start_probe.py`).

The variant comes from the environment: DATABASE_URL names the driver, PSYCOPG_IMPL the
psycopg implementation, DB_PG8000_PIPELINE=false pg8000 through its public API alone.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Starts the worker's own lines on stdout (the handler prints its metrics there too).
ANSWER = "driver-worker:"


def _timed(call: Any, count: int, before: Any = None) -> list[float]:
    from time import perf_counter

    times = []
    for index in range(count):
        if before is not None:
            before()
        start = perf_counter()
        call(index)
        times.append(perf_counter() - start)
    return times


def serve(user_id: int) -> None:
    import asyncio
    import json
    from datetime import datetime

    from sqlalchemy import select
    from support import route
    from test_checkout import _checkout, _fill_cart

    from shop.db import new_session, session_scope
    from shop.ml.features import compute_features
    from shop.models import Order, Product
    from shopfn.apigw import build_event
    from shopfn.lambda_context import LocalLambdaContext
    from shopfn.loader import load_handler

    with session_scope() as session:
        product_ids = sorted(session.scalars(select(Product.id).where(Product.category == "Bench")))
        catalog = sorted(session.scalars(select(Product.id)))
        customers = sorted(set(session.scalars(select(Order.user_id).limit(5000))))
        as_of = datetime.fromisoformat(os.environ["BENCH_AS_OF"])
    spec = route("/products/1")
    handler = load_handler(spec)
    context = LocalLambdaContext(function_name="shopfn-products", memory_limit_in_mb=spec.memory)
    asyncio.set_event_loop(asyncio.new_event_loop())
    events = [build_event(spec, "GET", f"/products/{pid}") for pid in catalog]
    cart = dict.fromkeys(product_ids[:5], 1)
    features_session = new_session()

    def warm(index: int) -> None:
        reply = handler(events[index % len(events)], context)
        assert reply["statusCode"] == 200, reply

    def checkout(_index: int) -> None:
        assert _checkout(user_id) == 201

    def features(index: int) -> None:
        frame = compute_features(features_session, as_of, [customers[index % len(customers)]])
        assert len(frame.user_ids) == 1
        features_session.rollback()  # a request's session ends after its query

    workloads = {
        "warm": lambda n: _timed(warm, n),
        "checkout": lambda n: _timed(checkout, n, before=lambda: _fill_cart(user_id, cart)),
        "features": lambda n: _timed(features, n),
    }
    print(ANSWER, "ready", flush=True)
    for line in sys.stdin:
        name, count = line.split()
        print(ANSWER, json.dumps(workloads[name](int(count))), flush=True)


def main(mode: str, argument: str) -> int:
    if mode == "cold":
        from cold_start_probe import main as probe

        return probe("products", argument)
    serve(int(argument))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
