"""What went wrong, as one or two sentences that say what to do next: no status codes, no jargon.

The APIs answer in problem+json; a shopper reads a sentence. Validation errors name the field
in words and say what it needs. Text from the API goes through `literal`: it may quote what
someone typed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from shopui.client import ApiError, NotAvailable, Unreachable
from shopui.formatting import money
from shopui.plaintext import literal, no_math

TRY_AGAIN = "Try again in a minute."
#: The next step when the shop cannot hold the quantity asked for.
SMALLER = "Choose a smaller quantity."
_FIELDS = {
    "email": "the e-mail address",
    "password": "the password",
    "full_name": "the name",
    "name": "the name",
    "quantity": "the quantity",
    "line1": "the first address line",
    "line2": "the second address line",
    "postal_code": "the postal code",
    "sku": "the SKU",
    "price": "the price",
    "stock": "the stock",
    "delta": "the stock change",
    "message": "the message",
    "summary": "the summary",
    "resolution_note": "the resolution note",
    "card_number": "the card number",
    "amount": "the amount",
    "reason": "the reason",
}
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"at least (\d+) (?:items?|characters?)"), "needs at least {0} characters"),
    (re.compile(r"at most (\d+) (?:items?|characters?)"), "can have at most {0} characters"),
    (re.compile(r"greater than or equal to (\S+)"), "must be at least {0}"),
    (re.compile(r"greater than (\S+)"), "must be more than {0}"),
    (re.compile(r"less than or equal to (\S+)"), "can be at most {0}"),
    (re.compile(r"less than (\S+)"), "must be less than {0}"),
    (re.compile(r"valid email|@-sign", re.IGNORECASE), "must look like name@example.com"),
    (
        re.compile(r"decimal places|valid decimal|valid number", re.IGNORECASE),
        "must be a price like 19.99",
    ),
    (re.compile(r"[Ff]ield required|[Mm]issing"), "is missing"),
)


def field_name(loc: list[Any]) -> str:
    """`["body", "shipping_address", "postal_code"]` -> `the postal code`."""
    parts = [str(p) for p in loc if str(p) not in ("body", "query", "path", "header")]
    last = parts[-1] if parts else "value"
    return _FIELDS.get(last, "the " + last.replace("_", " "))


def field_problem(error: dict[str, Any]) -> str:
    """One validation error as a sentence: `The password needs at least 8 characters.`"""
    name = field_name(list(error.get("loc") or []))
    message = str(error.get("msg") or "")
    for pattern, wording in _RULES:
        found = pattern.search(message)
        if found:
            return f"{name.capitalize()} {wording.format(*found.groups())}."
    return f"Please check {name}."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


_FIXED = {
    403: "Your account may not do this. Sign in with an account that may, or ask an admin.",
    429: "You have tried this too often just now. Wait a minute, then try again.",
    504: f"The shop took too long to answer. {TRY_AGAIN}",
}


def explain(exc: ApiError, feature: str = "This feature", hint: str = "") -> str:
    """The whole message for `exc`, ready for a Markdown notice.

    `hint` is the page's own next step when the shop refuses (a conflict), e.g. "Change your
    cart, then place the order again."
    """
    if isinstance(exc, Unreachable):
        return f"{feature} can't be reached right now. {TRY_AGAIN}"
    if isinstance(exc, NotAvailable):
        return f"{feature} is not available yet."
    if exc.errors:
        fixes = " ".join(literal(field_problem(e)) for e in exc.errors)
        return f"{fixes} Correct it and try again."
    detail = _sentence(literal(exc.detail))
    if exc.status == 409 and hint:
        return f"{detail} {hint}".strip()
    return _FIXED.get(exc.status) or _from_detail(exc.status, detail, feature)


def _from_detail(status: int, detail: str, feature: str) -> str:
    if status == 503 and detail:  # e.g. "no model is trained yet": the API says why
        return f"{feature} is not ready: {detail}"
    if status >= 500:
        return f"The shop could not finish this just now. {TRY_AGAIN}"
    if status == 404:
        return f"{detail or 'We could not find that.'} It may be gone: go back and pick again."
    if status == 409:
        return detail or "That is not possible right now. Check the page and try again."
    return f"{detail or 'That did not work.'} Check what you entered and try again."


# -- payments --------------------------------------------------------------------------------

#: The next step after a card was refused: declined, or the bank's check failed.
AFTER_DECLINE = (
    "Nothing was taken from your card. Try another card, or ask your bank why it refused "
    "the payment."
)
NOT_PAID_IN_TIME = (
    "It was not paid in time, so it is cancelled and its items went back on the shelf. "
    "Add them to your cart again to buy them."
)


def payment_failed(error: str | None) -> str:
    """The provider's reason (`Your card was declined.`) and what to do about it."""
    reason = _sentence(literal(error or "")) or "The payment did not go through."
    return f"{reason} {AFTER_DECLINE}"


def card_not_taken(exc: ApiError) -> str:
    """Why the card form's payment was refused before it reached the card's bank."""
    if exc.status == 422:
        said = " ".join(_sentence(literal(e.get("msg") or "")) for e in exc.errors)
        return f"{said or _sentence(literal(exc.detail))} Check the number and try again."
    return explain(exc, "Payment")


def refund_amount_problem(typed: str, left: Decimal) -> str | None:
    """What is wrong with a typed refund amount (None when it can be sent)."""
    text = typed.strip().lstrip("$").replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        return "Enter the amount to refund as money, like 10.00."
    if amount <= 0:
        return "Enter an amount above zero, or refund all that is left."
    if amount > left:
        return f"Only {no_math(money(left))} is left to refund: enter that much or less."
    return None
