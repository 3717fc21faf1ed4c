"""Lambda entry point of the payments function: HTTP via Mangum, plus the expiry schedule.

Its scheduled EventBridge event expires unpaid orders past their hold
(`shop.services.payment_expiry`).
"""

from __future__ import annotations

from typing import Any

from shop.coldstart import building_function

with building_function():
    from shop.http.app import create_app
    from shop.http.handler import is_scheduled_event, make_handler

    from .routes import router

    app = create_app(
        "payments",
        "/payments",
        [router],
        description="The payment provider's webhook, payment state, refunds and test mode.",
    )
    http_handler = make_handler(app, "payments")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Expire unpaid orders on the scheduled event; everything else is an HTTP request."""
    if is_scheduled_event(event):
        from shop.db import get_engine
        from shop.services.payment_expiry import expire_scheduled

        seconds_left = context.get_remaining_time_in_millis() / 1000
        return expire_scheduled(get_engine(), seconds_left).as_dict()
    return http_handler(event, context)
