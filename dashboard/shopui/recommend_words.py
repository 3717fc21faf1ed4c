"""The recommendations, in a shop owner's words: what the shop shows, how good, what it earned."""

from __future__ import annotations

from typing import Any

from shopui import formatting as fmt

SOURCES = {
    "often_bought_together": "Often bought together",
    "picked_for_you": "Picked for you",
    "buy_again": "Buy it again",
}


def showing(impact: dict[str, Any]) -> str:
    """What the storefront shows now, and why when it is best sellers."""
    if impact.get("source") == "model":
        return (
            "The shop shows recommendations learned from your customers' baskets "
            f"(model version {impact.get('model_version')})."
        )
    reason = impact.get("reason") or "No recommendation model is in use yet."
    return f"The shop shows its best sellers instead of recommendations for now. {reason}"


def led_to(impact: dict[str, Any]) -> str:
    """How many sales recommendations led to, in one sentence."""
    days = int(impact.get("days") or 30)
    orders = int(impact.get("orders") or 0)
    clicks = fmt.plural(impact.get("product_views") or 0, "product view")
    adds = fmt.plural(impact.get("cart_adds") or 0, "cart add")
    if not orders:
        return (
            f"In the last {days} days no order came from a recommendation yet "
            f"({clicks} and {adds} did)."
        )
    parts = [
        f"{fmt.plural(n, 'order')} from {SOURCES.get(name, name)}"
        for name, n in (impact.get("orders_by_source") or {}).items()
        if n
    ]
    return (
        f"In the last {days} days recommendations led to {fmt.plural(orders, 'order')} worth "
        f"{fmt.money(impact.get('revenue'))} ({'; '.join(parts)}): the customer opened or added "
        f"the product from a recommendation in the {impact.get('attribution_days', 7)} days "
        f"before ordering. They brought {clicks} and {adds}."
    )


def quality(metrics: dict[str, Any]) -> list[str]:
    """How the served model did against best sellers when it was trained."""
    validation = metrics.get("validation") or {}
    lines = []
    for key, title in (("picked_for_you", "Picked for you"), ("buy_again", "Buy it again")):
        part = validation.get(key) or {}
        if not part.get("customers"):
            continue
        lines.append(
            f"{title}: for {fmt.percent(part.get('hit_rate_at_10'))} of "
            f"{fmt.plural(part['customers'], 'returning customer')} the top 10 held something "
            f"they bought in the following {metrics.get('horizon_days', 30)} days; best sellers "
            f"managed {fmt.percent((part.get('popularity') or {}).get('hit_rate_at_10'))}."
        )
    return lines
