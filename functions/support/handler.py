"""Lambda entry point of the support function."""

from __future__ import annotations

from shop.coldstart import building_function

with building_function():
    from shop.http.app import create_app
    from shop.http.handler import make_handler

    from .routes import router

    app = create_app(
        "support",
        "/support",
        [router],
        description="The customer-support assistant, its conversations and hand-over tickets.",
    )
    handler = make_handler(app, "support")
