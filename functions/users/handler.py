"""Lambda entry point of the users function: HTTP via Mangum, plus the housekeeping schedule.

The users function owns sign-in state (refresh tokens, failed sign-ins), so its scheduled
EventBridge event runs the purge of every table that only keeps rows for a while
(`shop.services.housekeeping`).
"""

from __future__ import annotations

from typing import Any

from shop.coldstart import building_function

with building_function():
    from shop.http.app import create_app
    from shop.http.handler import is_scheduled_event, make_handler

    from .routes import router

    app = create_app("users", "/users", [router], description="Accounts, sign-in and tokens.")
    http_handler = make_handler(app, "users")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the purge on the scheduled event; everything else is an HTTP request."""
    if is_scheduled_event(event):
        from shop.db import get_engine
        from shop.services.housekeeping import purge_scheduled

        seconds_left = context.get_remaining_time_in_millis() / 1000
        return purge_scheduled(get_engine(), seconds_left).as_dict()
    return http_handler(event, context)
