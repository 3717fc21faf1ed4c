"""One product: its picture, description, price, availability and "add to cart"."""

from __future__ import annotations

import streamlit as st

from shopui.art import product_svg
from shopui.formatting import count, money
from shopui.messages import SMALLER
from shopui.plaintext import literal
from shopui.recommended import fetch, source_of, strip
from shopui.session import api, call, current_user

product_id = str(st.query_params.get("id") or st.session_state.get("product_id") or "")
if not product_id.isdigit():
    st.info("Pick a product in the shop first.")
    st.page_link("pages/catalog.py", label="Back to the shop", icon=":material/storefront:")
    st.stop()

source = source_of(int(product_id))
product = call(api().product, int(product_id), source, feature="The catalog")
if product is None:
    st.page_link("pages/catalog.py", label="Back to the shop", icon=":material/storefront:")
    st.stop()

picture, info = st.columns([2, 3])
picture.image(product_svg(product["name"], product["category"], width=480), width="stretch")
with info:
    st.title(literal(product["name"]))
    st.caption(f"{literal(product['category'])} · SKU {literal(product['sku'])}")
    st.subheader(money(product["price"]))
    st.text(product["description"])
    if product["stock"] > 0:
        st.success(f"In stock: {count(product['stock'])} available")
    else:
        st.error("Out of stock. Look for something similar in the shop.")
    if current_user() is None:
        st.info("Sign in to buy.")
        st.page_link("pages/account.py", label="Sign in", icon=":material/person:")
    elif product["stock"] > 0:
        quantity = st.number_input(
            "Quantity", min_value=1, max_value=min(100, product["stock"]), value=1, key="pd_qty"
        )
        if st.button("Add to cart", type="primary", key="pd_add"):
            cart = call(
                api().add_to_cart,
                product["id"],
                int(quantity),
                source,
                feature="The cart",
                hint=SMALLER,
            )
            if cart is not None:
                st.success(f"Added {quantity} x {literal(product['name'])} to your cart.")
                st.page_link("pages/cart.py", label="Go to cart", icon=":material/shopping_cart:")
together = fetch(api().bought_together, [product["id"]])
strip("Often bought together", together, "often_bought_together", "pd_together")
st.page_link("pages/catalog.py", label="Back to the shop", icon=":material/storefront:")
