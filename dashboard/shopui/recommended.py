"""Recommendation strips of the storefront: "Often bought together", "Picked for you", "Buy it
again".

A strip is extra: when the ML API is down or not deployed it is left out quietly, and the page
works as before. Opening or adding a product from a strip tells the API which strip it came
from, so the admin page can count the sales recommendations led to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from shopui.client import ApiError
from shopui.formatting import money
from shopui.messages import SMALLER
from shopui.plaintext import literal
from shopui.session import api, call, current_user

#: Where the product page finds the strip a shopper came from: {"id": ..., "source": ...}.
CAME_FROM = "product_source"
SHOWN = 4


def fetch(load: Callable[..., Any], *args: Any) -> list[dict[str, Any]]:
    """The products of a strip, or none when the ML API cannot answer."""
    try:
        answer = load(*args, limit=SHOWN)
    except ApiError:
        return []
    return list((answer or {}).get("products") or [])


def source_of(product_id: int) -> str | None:
    """The strip the shopper opened this product from, if any."""
    came = st.session_state.get(CAME_FROM) or {}
    return came.get("source") if came.get("id") == product_id else None


def strip(title: str, products: list[dict[str, Any]], source: str, key: str) -> bool:
    """A titled row of small product cards (name, price, View and Add; no picture, so the
    page's own product stays the one picture) or nothing when empty; True when the shopper
    just added one to the cart."""
    if not products:
        return False
    st.subheader(title)
    columns = st.columns(SHOWN)
    for index, product in enumerate(products[:SHOWN]):
        pid = product["id"]
        with columns[index], st.container(border=True):
            st.markdown(f"{literal(product['name'])}  \n{money(product['price'])}")
            view, add = st.columns(2)
            if view.button("View", key=f"{key}_view_{pid}"):
                st.session_state["product_id"] = pid
                st.session_state[CAME_FROM] = {"id": pid, "source": source}
                st.switch_page("pages/product.py")
            if current_user() is not None and add.button("Add", key=f"{key}_add_{pid}"):
                added = call(api().add_to_cart, pid, 1, source, feature="The cart", hint=SMALLER)
                if added is not None:
                    st.toast(f"Added {literal(product['name'])} to your cart")
                    return True
    return False
