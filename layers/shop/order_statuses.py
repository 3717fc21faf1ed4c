"""The statuses an order can have, apart from the order model: a function's request schemas
validate against them without mapping the commerce tables at import."""

from typing import Literal, get_args

#: Every status an order can have, a happy order's first (see shop.services.order_status);
#: the one list, which request schemas and the support assistant's tools validate against.
OrderStatus = Literal[
    "awaiting_payment",
    "paid",
    "shipped",
    "delivered",
    "payment_failed",
    "expired",
    "cancelled",
    "partially_refunded",
    "refunded",
]
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)
