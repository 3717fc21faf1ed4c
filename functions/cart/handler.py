"""Lambda entry point of the cart function."""

from __future__ import annotations

from shop.coldstart import building_function

with building_function():
    from shop.http.app import create_app
    from shop.http.handler import make_handler

    from .routes import router

    app = create_app("cart", "/cart", [router], description="Each user's shopping cart.")
    handler = make_handler(app, "cart")
