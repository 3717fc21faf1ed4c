"""The browser address the shop's own dashboard forwards, believed only with the shared secret.

The dashboard calls the APIs from its server, so every shopper using it arrives from one
address; per-address throttles (sign-in failures, chat) would then lump them all together.
It sends the browser's address in `X-Shopfn-Client-Address` with `X-Shopfn-Proxy-Secret`;
without the right secret (DASHBOARD_PROXY_SECRET) both headers are ignored, so nobody else
can pick the address they are counted under.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from functools import lru_cache

from shop.logging import get_logger
from shop.settings import get_settings

CLIENT_ADDRESS_HEADER = "x-shopfn-client-address"
PROXY_SECRET_HEADER = "x-shopfn-proxy-secret"  # noqa: S105 - a header name, not a secret


def proxy_secret() -> bytes | None:
    """DASHBOARD_PROXY_SECRET, else the secret DASHBOARD_PROXY_SECRET_ARN names (read once)."""
    settings = get_settings()
    return _resolve(settings.dashboard_proxy_secret, settings.dashboard_proxy_secret_arn)


@lru_cache(maxsize=4)
def _resolve(value: str | None, secret_arn: str | None) -> bytes | None:
    """None turns forwarding off. So does an unreadable secret (logged), rather than failing
    every sign-in: shoppers on the dashboard then share its address, as without the feature.
    """
    if value:
        return value.encode()
    if not secret_arn:
        return None
    from shop.secret_values import secret_string

    try:
        stored = secret_string(secret_arn).strip()
    except Exception:
        get_logger().warning("Dashboard proxy secret not readable; forwarded addresses ignored")
        return None
    return stored.encode() or None


def forwarded_address(headers: Mapping[str, str]) -> str | None:
    """The address the dashboard forwarded, if the secret matches and it is an IP; else None."""
    secret = proxy_secret()
    sent = headers.get(PROXY_SECRET_HEADER)
    if secret is None or sent is None:
        return None
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), secret):
        return None
    try:
        return str(ipaddress.ip_address(headers.get(CLIENT_ADDRESS_HEADER, "").strip()))
    except ValueError:
        return None
