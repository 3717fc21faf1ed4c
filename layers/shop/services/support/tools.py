"""The assistant's tools: read-only views for the caller, plus the hand-over to a human.

Every tool acts for `ToolContext.principal`, the user of the verified access token. No tool
takes a user id; arguments are validated like any request body (unknown fields refused), and
whatever goes wrong comes back to the model as `{"error": ...}`, never as an exception.
Another user's order is "not found", exactly like an order that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, load_only

from shop.errors import ShopError
from shop.logging import get_logger
from shop.models import Order, Product
from shop.order_statuses import OrderStatus
from shop.pagination import PageRequest
from shop.services import cart, catalog, orders
from shop.services.support import tickets
from shop.services.support.replies import plain_text, redact_secrets
from shop.tokens import Principal

#: Tool calls one model round may make; more are answered with an error.
MAX_CALLS_PER_ROUND = 5
SIGN_IN_FIRST = "The customer is not signed in. Ask them to sign in to see their cart and orders."
DbId = Annotated[int, Field(ge=1, le=2_147_483_647)]


def _storable(value: str) -> str:
    # A model may send anything; PostgreSQL cannot take NULs or lone surrogates.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    value.encode("utf-8")  # UnicodeEncodeError is a ValueError
    return value


#: A string from the model that every backend can store.
StorableStr = Annotated[str, AfterValidator(_storable)]


@dataclass
class ToolContext:
    """What a tool runs with: the caller from the token, their conversation, a session."""

    session: Session
    principal: Principal | None
    conversation_id: str
    used: list[str] = field(default_factory=list)

    def note_use(self, name: str) -> None:
        if name not in self.used:
            self.used.append(name)


class ToolArguments(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NoArguments(ToolArguments):
    pass


class SearchProductsArgs(ToolArguments):
    query: Annotated[StorableStr, Field(min_length=1, max_length=100)]
    category: Annotated[StorableStr | None, Field(max_length=100)] = None
    max_price: Annotated[Decimal | None, Field(gt=0, max_digits=12, decimal_places=2)] = None
    limit: Annotated[int, Field(ge=1, le=10)] = 5


class ProductIdArgs(ToolArguments):
    product_id: DbId


class ListOrdersArgs(ToolArguments):
    status: OrderStatus | None = None
    limit: Annotated[int, Field(ge=1, le=10)] = 5


class OrderIdArgs(ToolArguments):
    order_id: DbId


class HandOverArgs(ToolArguments):
    summary: Annotated[StorableStr, Field(min_length=1, max_length=1000)]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


#: The columns `product_view` reads: a search loads only these (less to send and to parse).
PRODUCT_VIEW_COLUMNS = (
    Product.name,
    Product.category,
    Product.price,
    Product.stock,
    Product.description,
)


def product_view(product: Product, *, description_chars: int = 300) -> dict[str, Any]:
    """What the model may know about a product (catalog data, shown to anyone)."""
    return {
        "id": product.id,
        "name": product.name,
        "category": product.category,
        "price": _money(product.price),
        "in_stock": product.stock > 0,
        "stock": product.stock,
        "description": product.description[:description_chars],
    }


def search_products(ctx: ToolContext, args: SearchProductsArgs) -> dict[str, Any]:
    filters = catalog.ProductFilter(q=args.query, category=args.category, max_price=args.max_price)
    # The total rides along as a window count: one query per search, not a page and a count.
    query = (
        catalog.product_query(filters)
        .options(load_only(*PRODUCT_VIEW_COLUMNS))
        .add_columns(func.count().over())
        .limit(args.limit)
    )
    rows = ctx.session.execute(query).all()
    return {
        "total": rows[0][1] if rows else 0,
        "products": [product_view(product, description_chars=200) for product, _ in rows],
    }


def get_product(ctx: ToolContext, args: ProductIdArgs) -> dict[str, Any]:
    return {"product": product_view(catalog.get_product(ctx.session, args.product_id))}


def _own_orders(ctx: ToolContext) -> orders.Viewer:
    assert ctx.principal is not None
    # Never as admin: the assistant shows the caller's own orders, whoever the caller is.
    return orders.Viewer(user_id=ctx.principal.user_id, is_admin=False)


#: The columns `order_summary` reads (the customer context loads only these).
ORDER_SUMMARY_COLUMNS = (Order.status, Order.total, Order.item_count, Order.created_at)


def order_summary(order: Order) -> dict[str, Any]:
    """An order at a glance: number, status, total, size and date."""
    return {
        "order_id": order.id,
        "status": order.status,
        "total": _money(order.total),
        "item_count": order.item_count,
        "placed_at": order.created_at.isoformat(timespec="minutes"),
    }


def show_my_cart(ctx: ToolContext, _args: NoArguments) -> dict[str, Any]:
    assert ctx.principal is not None
    view = cart.view_cart(ctx.session, ctx.principal.user_id)
    return {
        "items": [
            {
                "product_id": line.product_id,
                "name": line.name,
                "unit_price": _money(line.unit_price),
                "quantity": line.quantity,
                "line_total": _money(line.line_total),
                "available": line.available,
            }
            for line in view.items
        ],
        "subtotal": _money(view.subtotal),
        "item_count": view.item_count,
    }


def list_my_orders(ctx: ToolContext, args: ListOrdersArgs) -> dict[str, Any]:
    page = orders.list_orders(
        ctx.session, _own_orders(ctx), PageRequest(page=1, page_size=args.limit), status=args.status
    )
    return {"total": page.total, "orders": [order_summary(order) for order in page.items]}


def get_my_order(ctx: ToolContext, args: OrderIdArgs) -> dict[str, Any]:
    order = orders.get_order(ctx.session, args.order_id, _own_orders(ctx))
    return {
        **order_summary(order),
        "subtotal": _money(order.subtotal),
        "items": [
            {
                "product_id": item.product_id,
                "name": item.name,
                "unit_price": _money(item.unit_price),
                "quantity": item.quantity,
                "line_total": _money(item.line_total),
            }
            for item in order.items
        ],
        "status_history": [
            {"status": change.status, "at": change.at.isoformat(timespec="minutes")}
            for change in order.status_history
        ],
        "ships_to": {
            "city": order.shipping_address.get("city"),
            "country": order.shipping_address.get("country"),
        },
    }


def hand_over_to_human(ctx: ToolContext, args: HandOverArgs) -> dict[str, Any]:
    # The summary is model-written: admins get it as plain text, like any reply.
    summary = redact_secrets(plain_text(args.summary), ()) or "(no summary)"
    ticket = tickets.open_ticket(
        ctx.session,
        conversation_id=ctx.conversation_id,
        user_id=ctx.principal.user_id if ctx.principal else None,
        summary=summary,
    )
    return {"ticket_id": ticket.id, "status": ticket.status}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[ToolArguments]
    run: Callable[[ToolContext, Any], dict[str, Any]]
    needs_sign_in: bool = False


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "search_products",
            "Search the shop's active products by words in their name, description or "
            "category; optionally within a category or up to a maximum price.",
            SearchProductsArgs,
            search_products,
        ),
        Tool("get_product", "One product by its id.", ProductIdArgs, get_product),
        Tool(
            "show_my_cart",
            "The signed-in customer's cart: lines, prices at today's catalog price, subtotal.",
            NoArguments,
            show_my_cart,
            needs_sign_in=True,
        ),
        Tool(
            "list_my_orders",
            "The signed-in customer's recent orders, newest first, optionally of one status.",
            ListOrdersArgs,
            list_my_orders,
            needs_sign_in=True,
        ),
        Tool(
            "get_my_order",
            "One of the signed-in customer's orders by its number: lines, total, status and "
            "status history.",
            OrderIdArgs,
            get_my_order,
            needs_sign_in=True,
        ),
        Tool(
            "hand_over_to_human",
            "Hand the conversation over to a human support agent: opens a support ticket with "
            "a short summary of what the customer needs. Use it when the customer asks for a "
            "person, or for refunds, returns, complaints or anything you cannot do.",
            HandOverArgs,
            hand_over_to_human,
        ),
    )
}


@lru_cache(maxsize=1)
def openai_tool_specs() -> list[dict[str, Any]]:
    """The tools in Chat Completions `tools` format (JSON Schema built once per container)."""
    specs = []
    for tool in TOOLS.values():
        schema = tool.arguments.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        specs.append(
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": schema,
                },
            }
        )
    return specs


def _parse_arguments(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    if len(raw) > 10_000:
        raise ValueError("arguments are too long")
    parsed = json.loads(raw)
    if not isinstance(parsed, dict):
        raise ValueError("arguments must be a JSON object")
    return parsed


def run_tool(ctx: ToolContext, name: str, raw_arguments: str | dict[str, Any] | None) -> Any:
    """Run one tool call for the caller; the result, or `{"error": ...}` the model can read."""
    tool = TOOLS.get(name)
    if tool is None:
        return {"error": f"Unknown tool {name[:64]!r}. Available: {', '.join(TOOLS)}."}
    ctx.note_use(name)
    try:
        arguments = tool.arguments.model_validate(_parse_arguments(raw_arguments))
    except (ValueError, ValidationError) as exc:
        return {"error": f"Invalid arguments for {name}: {_describe(exc)}"}
    if tool.needs_sign_in and ctx.principal is None:
        return {"error": SIGN_IN_FIRST}
    try:
        return tool.run(ctx, arguments)
    except ShopError as exc:
        return {"error": exc.detail}
    except SQLAlchemyError:
        raise  # the session is unusable: the chat turn answers 503
    except Exception:  # a bug in one tool must not cost the customer the whole answer
        get_logger().exception("support tool failed", extra={"tool": name})
        return {"error": f"{name} is not available right now."}


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
            for error in exc.errors()[:5]
        )
    return str(exc)[:200] if isinstance(exc, ValueError) else "not valid JSON"
