"""Signing webhook payloads the way Stripe does: `t=<unix time>,v1=<HMAC-SHA256>`.

The test mode signs its events with this, and `stripe.Webhook.construct_event` verifies
them like any Stripe event.
"""

from __future__ import annotations

import hashlib
import hmac
import time


def signature_header(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `payload` signed with `secret` at `timestamp`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
