"""Numbers and dates as people read them; every page formats through here.

Counts are whole numbers with thousands separators, money is the shop's currency (SHOP_CURRENCY,
default USD) with two decimals, shares are percentages, times are UTC and say so once, and an
order's status is a word or two a shopper reads without knowing the API.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

NOTHING = "—"
TIME_ZONE = "UTC"
TIME_ZONE_NOTE = "All times are in UTC."
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$"}
_CENT = Decimal("0.01")


def currency() -> str:
    """The shop's currency code, from SHOP_CURRENCY."""
    return (os.environ.get("SHOP_CURRENCY") or "USD").strip().upper()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def money(value: Any, code: str | None = None) -> str:
    """`21334.71` -> `$21,334.71`; an API money string keeps its exact cents."""
    amount = _decimal(value)
    if amount is None:
        return NOTHING
    code = code or currency()
    digits = f"{abs(amount.quantize(_CENT, ROUND_HALF_UP)):,.2f}"
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {code}"


def count(value: Any) -> str:
    """A count as a whole number: `146.0` -> `146`, `12000` -> `12,000`."""
    number = _decimal(value)
    if number is None:
        return NOTHING
    return f"{int(number.to_integral_value(ROUND_HALF_UP)):,}"


def plural(value: Any, word: str, many: str | None = None) -> str:
    """`1 item`, `3 items`, `1,200 customers`."""
    shown = count(value)
    return f"{shown} {word if shown == '1' else many or word + 's'}"


def percent(share: Any, places: int = 0) -> str:
    """A share of one as a percentage: `0.8159` -> `82%`."""
    number = _decimal(share)
    if number is None:
        return NOTHING
    scaled = (number * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{scaled:,.{places}f}%"


def points(share: Any) -> str:
    """A difference of two shares: `0.115` -> `12 percentage points`."""
    return percent(share).removesuffix("%") + " percentage points"


def decimal(value: Any, places: int = 3) -> str:
    """A technical score as written in the details: `0.81590909` -> `0.816`."""
    number = _decimal(value)
    return NOTHING if number is None else f"{number:,.{places}f}"


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def when(value: Any, *, zone: bool = False) -> str:
    """An instant as `1 Dec 2026, 13:30`; `zone=True` adds ` UTC` (say it once per page)."""
    moment = _instant(value)
    if moment is None:
        return NOTHING
    text = f"{moment.day} {moment:%b %Y, %H:%M}"
    return f"{text} {TIME_ZONE}" if zone else text


def day(value: Any) -> str:
    """A calendar day as `1 Dec 2026`."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"{value.day} {value:%b %Y}"
    if isinstance(value, str) and len(value) == 10:
        try:
            return day(date.fromisoformat(value))
        except ValueError:
            return NOTHING
    moment = _instant(value)
    return NOTHING if moment is None else day(moment.date())


def duration(seconds: Any) -> str:
    """`8.3` -> `8 s`, `125` -> `2 min 5 s`, `3720` -> `1 h 2 min`."""
    number = _decimal(seconds)
    if number is None or number < 0:
        return NOTHING
    total = int(number.to_integral_value(ROUND_HALF_UP))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def seconds_between(start: Any, end: Any) -> float | None:
    """Seconds from one API instant to another, or None when either is missing."""
    first, last = _instant(start), _instant(end)
    return None if first is None or last is None else (last - first).total_seconds()


#: An order's status in plain words (the API's names are for programs).
ORDER_STATUS_WORDS = {
    "awaiting_payment": "Awaiting payment",
    "payment_failed": "Payment failed",
    "paid": "Paid",
    "partially_refunded": "Partly refunded",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "expired": "Expired: not paid in time",
    "cancelled": "Cancelled",
    "refunded": "Refunded",
}
#: Who moved an order, as the history says it (the API's `actor_kind`).
ACTOR_WORDS = {
    "shopper": "by you",
    "admin": "by the shop",
    "provider": "by the payment provider",
    "system": "by the shop, automatically",
}


def order_status(status: Any) -> str:
    """`awaiting_payment` -> `Awaiting payment`; a status this page doesn't know yet stays
    readable."""
    text = str(status or "")
    return ORDER_STATUS_WORDS.get(text) or text.replace("_", " ").capitalize() or NOTHING
