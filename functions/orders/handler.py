"""Lambda entry point of the orders function."""

from __future__ import annotations

from shop.coldstart import building_function

with building_function():
    from shop.http.app import create_app
    from shop.http.handler import make_handler

    from .coupon_routes import router as coupon_router
    from .routes import router
    from .stats_routes import router as stats_router

    # The stats and coupon routers go first so `/orders/stats` and `/orders/coupons` are never
    # taken for an order id.
    app = create_app(
        "orders",
        "/orders",
        [stats_router, coupon_router, router],
        description="Checkout, order history, status moves and sales figures.",
    )
    handler = make_handler(app, "orders")
