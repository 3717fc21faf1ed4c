"""Warm path on PostgreSQL: `GET /products/{id}` through the real Lambda handler vs a bare select.

The handler module is imported first (a warm container), then the engine is reset so the
calls start with no connection: all of them together must open exactly one. Each handler
call is paired with a bare SQLAlchemy primary-key select on the same engine, alternating,
so machine load hits both alike; the result is the ratio of their p50s.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from measure import Section, median, on_postgresql, percentile, timed

CALLS = int(os.environ.get("BENCH_WARM_CALLS", "1000"))
TARGET = 3.0


@on_postgresql
def test_warm_product_reads_open_one_connection_and_stay_within_3x_a_bare_select(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy import event, select
    from sqlalchemy.orm import Session
    from support import route

    from shop.db import get_engine, reset_engine, session_scope
    from shop.models import Product
    from shop.services.seed import seed_catalog
    from shopfn.apigw import build_event
    from shopfn.lambda_context import LocalLambdaContext
    from shopfn.loader import load_handler

    with session_scope() as session:
        seed_catalog(session)
        ids = sorted(session.scalars(select(Product.id)))
    spec = route("/products/1")
    handler = load_handler(spec)  # a warm container: the module is imported once
    context = LocalLambdaContext(function_name="shopfn-products", memory_limit_in_mb=spec.memory)
    events = [build_event(spec, "GET", f"/products/{ids[i % len(ids)]}") for i in range(CALLS)]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    reset_engine()  # no pooled connection left from seeding
    engine = get_engine()
    connects = {"handler": 0, "bare": 0}
    phase = ["handler"]

    def count_connect(*_args: Any) -> None:
        connects[phase[0]] += 1

    event.listen(engine, "connect", count_connect)
    replies: list[dict[str, Any]] = []

    def call_handler(index: int) -> None:
        replies.append(handler(events[index], context))

    def bare_select(index: int) -> None:
        with Session(engine) as session:
            assert session.get(Product, ids[index % len(ids)]) is not None

    handler_times: list[float] = []
    bare_times: list[float] = []
    try:
        for index in range(CALLS):
            phase[0] = "handler"
            handler_times.append(timed(lambda index=index: call_handler(index)))
            phase[0] = "bare"
            bare_times.append(timed(lambda index=index: bare_select(index)))
    finally:
        event.remove(engine, "connect", count_connect)
        loop.close()
        asyncio.set_event_loop(None)  # later callers make their own, as the gateway does

    assert {reply["statusCode"] for reply in replies} == {200}
    handler_p50, bare_p50 = median(handler_times), median(bare_times)
    ratio = handler_p50 / bare_p50
    section = bench_report(
        f"Warm GET /products/{{id}} on PostgreSQL ({CALLS} handler calls, "
        "each paired with a bare select)"
    )
    section.add("bare session.get(Product, id), same engine (p50)", bare_p50, ratio=1.0)
    section.add(
        "products handler: API Gateway event -> JSON (p50)",
        handler_p50,
        ratio=ratio,
        target=f"<= {TARGET:.1f}x",
    )
    section.add("products handler (p90)", percentile(handler_times, 0.9))
    section.add("products handler (p99)", percentile(handler_times, 0.99))
    section.notes.append(
        f"DBAPI connections opened: {connects['handler']} by the {CALLS} handler calls, "
        f"{connects['bare']} by the bare selects (target: exactly 1 in all)"
    )
    ok = connects == {"handler": 1, "bare": 0} and ratio <= TARGET
    section.verdict = "within target" if ok else "OVER TARGET"
    print("\n" + section.render())
    assert connects == {"handler": 1, "bare": 0}, connects
    assert ratio <= TARGET, f"warm p50 is {ratio:.2f}x a bare select (target {TARGET}x)"
