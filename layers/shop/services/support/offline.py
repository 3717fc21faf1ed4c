"""The offline assistant: common questions answered by rules and the same tools, no model.

It answers when there is no OpenAI key or the model fails, so it must never fail itself on
odd input: every branch ends in a helpful reply, and it says that it is the offline helper.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shop.services.order_status import STATUS_WORDS
from shop.services.support.policies import shop_policies
from shop.services.support.tools import ToolContext, run_tool

MODEL_NAME = "offline"
OFFLINE_NOTE = (
    "(Our smart assistant is offline right now, so I can only help with the basics. "
    "Ask for a person any time.)"
)

_HUMAN = re.compile(
    r"\b(human|person|agent|representative|operator|somebody|someone|real people)\b", re.I
)
_ORDER_NUMBER = re.compile(r"(?:order|#|no\.?|number)\s*#?\s*(\d{1,9})\b", re.I)
_ORDER = re.compile(
    r"\b(my orders?|order status|track|tracking|parcel|package|where is my|where's my|"
    r"has (it|my) shipped|orders?)\b",
    re.I,
)
_CART = re.compile(r"\b(cart|basket)\b", re.I)
_RETURNS = re.compile(r"\b(return|returns|refund|refunds|exchange|money back|send back)\b", re.I)
_SHIPPING = re.compile(
    r"\b(ship|shipping|shipped|delivery|deliver|postage|courier|express)\b", re.I
)
_CONTACT = re.compile(
    r"\b(contact|your e-?mail|e-?mail (you|address)|phone number|call you|reach you|"
    r"opening hours|customer service|get in touch)\b",
    re.I,
)
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|thanks?|thank you)\b", re.I
)
_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)
# Words that say nothing about which product is wanted (dropped before searching).
_STOPWORDS = frozenset(
    """a an and any are available buy can cost costs could do does find for from get got
    have how i i'm im in is it looking me much my need of on or please price prices product
    products recommend recommendation search sell selling show some something stock the
    there this to want what which with would you your yours""".split()  # noqa: SIM905
)


def _money_line(product: dict[str, Any]) -> str:
    stock = "in stock" if product["in_stock"] else "out of stock"
    return f"- {product['name']} (#{product['id']}): {product['price']}, {stock}"


def _search(ctx: ToolContext, message: str) -> str | None:
    words = [w.lower() for w in _WORD.findall(message) if w.lower() not in _STOPWORDS]
    words = [w for w in words if len(w) > 2]
    if not words:
        return None
    # Catalog names are singular: "skillets" also tries "skillet".
    singles = [w[:-1] for w in words if len(w) > 3 and w.endswith("s") and not w.endswith("ss")]
    attempts = [
        " ".join(words[:6]),
        *sorted(set(words), key=len, reverse=True)[:3],
        *sorted(set(singles), key=len, reverse=True)[:3],
    ]
    for query in dict.fromkeys(attempts):
        found = run_tool(ctx, "search_products", {"query": query[:100], "limit": 3})
        if found.get("products"):
            lines = "\n".join(_money_line(p) for p in found["products"])
            more = found["total"] - len(found["products"])
            extra = f"\nThere are {more} more in the shop." if more > 0 else ""
            return f'Here is what I found for "{query}":\n{lines}{extra}'
    return None


def _order_reply(ctx: ToolContext, message: str) -> str:
    if ctx.principal is None:
        run_tool(ctx, "list_my_orders", {})  # records the attempt; the tool refuses anonymous
        return "Please sign in first, then I can look up your orders for you."
    number = _ORDER_NUMBER.search(message)
    if number:
        order = run_tool(ctx, "get_my_order", {"order_id": int(number.group(1))})
        if "error" in order:
            return (
                f"I couldn't find order {number.group(1)} in your account. "
                "Please check the number, or ask me about your recent orders."
            )
        history = ", ".join(
            f"{_words(h['status'])} on {h['at'][:10]}" for h in order["status_history"]
        )
        return (
            f"Order {order['order_id']} is {_words(order['status'])} (total {order['total']}, "
            f"{order['item_count']} item(s)). History: {history}."
        )
    listing = run_tool(ctx, "list_my_orders", {"limit": 3})
    if not listing.get("orders"):
        return "You have no orders yet."
    lines = "\n".join(
        f"- Order {o['order_id']}: {_words(o['status'])}, total {o['total']}, "
        f"placed {o['placed_at'][:10]}"
        for o in listing["orders"]
    )
    return f"Your recent orders:\n{lines}\nAsk me about one by its number for the details."


def _cart_reply(ctx: ToolContext, _message: str) -> str:
    view = run_tool(ctx, "show_my_cart", {})
    if "error" in view:
        return "Please sign in first, then I can show you your cart."
    if not view["items"]:
        return "Your cart is empty."
    lines = "\n".join(
        f"- {line['quantity']} x {line['name']}: {line['line_total']}" for line in view["items"]
    )
    return f"Your cart:\n{lines}\nSubtotal: {view['subtotal']}."


def _human_reply(ctx: ToolContext, message: str) -> str:
    ticket = run_tool(ctx, "hand_over_to_human", {"summary": message[:1000]})
    contact = shop_policies().contact
    if "error" in ticket:
        return contact
    follow_up = (
        "We will answer in your account's e-mail inbox."
        if ctx.principal
        else f"As you are not signed in, please also e-mail {_contact_email()} so we can reach you."
    )
    return (
        f"I've passed your question to our support team (ticket {ticket['ticket_id']}). {follow_up}"
    )


def _contact_email() -> str:
    from shop.settings import get_settings

    return get_settings().support_contact_email


def _help() -> str:
    return (
        "I can help with your order status, finding products, shipping, returns and how to "
        "contact us. What would you like to know?"
    )


Intent = tuple[re.Pattern[str], Callable[[ToolContext, str], str]]
INTENTS: tuple[Intent, ...] = (
    (_HUMAN, _human_reply),
    (_ORDER_NUMBER, _order_reply),
    (_RETURNS, lambda _c, _m: shop_policies().returns),
    (_CART, _cart_reply),
    (_ORDER, _order_reply),
    (_SHIPPING, lambda _c, _m: shop_policies().shipping),
    (_CONTACT, lambda _c, _m: shop_policies().contact),
)


def answer_offline(ctx: ToolContext, message: str) -> str:
    """A rule-based reply to `message`, ending with a note that the assistant is offline."""
    reply = None
    for pattern, respond in INTENTS:
        if pattern.search(message):
            reply = respond(ctx, message)
            break
    if reply is None and not _GREETING.match(message):
        reply = _search(ctx, message)
    return f"{reply or _help()}\n\n{OFFLINE_NOTE}"


def _words(status: str) -> str:
    """An order status in plain words ("waiting for payment", not `awaiting_payment`)."""
    return STATUS_WORDS.get(status, status.replace("_", " "))
