"""What the shop promises about shipping, returns and contact: one text for both assistants."""

from __future__ import annotations

from dataclasses import dataclass

from shop.settings import get_settings

SHIPPING = (
    "We ship within 1-2 business days. Standard delivery takes 3-5 business days and is free "
    "for orders over 50.00; below that it costs 4.95. Express delivery (1-2 business days) "
    "costs 9.95. You can follow your order's status here in the chat or under your orders."
)
RETURNS = (
    "You can return any unused item within 30 days of delivery for a full refund. "
    "Start a return by asking for a human in this chat or by e-mail; we send a free return "
    "label. Refunds reach your original payment method within 5-7 business days after the "
    "item arrives back. Orders that have not shipped yet can be cancelled under your orders."
)


@dataclass(frozen=True)
class Policies:
    shipping: str
    returns: str
    contact: str


def shop_policies() -> Policies:
    """The policies, with the contact address from the settings."""
    email = get_settings().support_contact_email
    contact = (
        f"You can reach our support team at {email} (Monday to Friday, 9:00-17:00 UTC); "
        "we answer within one business day. You can also ask for a human right here."
    )
    return Policies(shipping=SHIPPING, returns=RETURNS, contact=contact)
