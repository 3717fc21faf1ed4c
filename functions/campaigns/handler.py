"""Lambda entry point of the campaigns function: retention offers, their effect, the outbox.

Its own function, not the predict one: a campaign run scores every customer and writes
codes and messages, and its routes would only add to each prediction container's cold start.
"""

from __future__ import annotations

from shop.coldstart import building_function

with building_function():
    from shop.http.app import create_app
    from shop.http.handler import make_handler

    from .routes import router

    app = create_app(
        "campaigns",
        "/ml/campaigns",
        [router],
        description="Retention campaigns driven by the churn model, their measured effect and "
        "the messages they send.",
    )
    handler = make_handler(app, "campaigns")
