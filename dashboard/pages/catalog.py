"""The catalog: search, category and price filters, sorting and pagination."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import streamlit as st

from shopui.art import product_svg
from shopui.formatting import money, plural
from shopui.messages import SMALLER
from shopui.offer_banner import offer_banner
from shopui.plaintext import literal
from shopui.recommended import fetch, strip
from shopui.session import api, call, current_user

PAGE_SIZE = 12
SORTS = {
    "Name (A-Z)": "name",
    "Name (Z-A)": "-name",
    "Price: low to high": "price",
    "Price: high to low": "-price",
    "Newest": "newest",
}


def _price(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        st.warning(
            f"'{literal(text)}' is not a price, so it is ignored. Enter a number like 19.99."
        )
        return None
    return str(value)


st.title("Shop")
offer_banner()
categories = call(api().categories, feature="The catalog") or []
names = ["All categories"] + [c["name"] for c in categories]

search_col, cat_col, sort_col = st.columns([3, 2, 2])
q = search_col.text_input("Search", key="catalog_q", placeholder="headphones, linen, tent...")
category = cat_col.selectbox("Category", names, key="catalog_category")
sort_label = sort_col.selectbox("Sort by", list(SORTS), key="catalog_sort")
min_col, max_col, stock_col = st.columns([2, 2, 3])
min_price = _price(min_col.text_input("Min price", key="catalog_min"))
max_price = _price(max_col.text_input("Max price", key="catalog_max"))
in_stock = stock_col.checkbox("In stock only", key="catalog_in_stock")

filters = (q, category, sort_label, min_price, max_price, in_stock)
if st.session_state.get("catalog_filters") != filters:  # new filters start at page 1
    st.session_state["catalog_filters"] = filters
    st.session_state["catalog_page"] = 1
page_no = st.session_state.get("catalog_page", 1)

result = call(
    api().products,
    q=q.strip() or None,
    category=None if category == "All categories" else category,
    min_price=min_price,
    max_price=max_price,
    in_stock="true" if in_stock else None,
    sort=SORTS[sort_label],
    page=page_no,
    page_size=PAGE_SIZE,
    feature="The catalog",
)
if result is None:
    st.stop()
if not result["items"]:
    st.info("No products match these filters.")
    st.stop()

pages = max(1, -(-result["total"] // PAGE_SIZE))
st.caption(f"{plural(result['total'], 'product')} · page {page_no} of {pages}")
columns = st.columns(4)
for index, product in enumerate(result["items"]):
    with columns[index % 4], st.container(border=True):
        st.image(product_svg(product["name"], product["category"]), width="stretch")
        st.markdown(f"**{literal(product['name'])}**")
        stock = "In stock" if product["stock"] > 0 else "Out of stock"
        st.caption(f"{literal(product['category'])} · {money(product['price'])} · {stock}")
        view, add = st.columns(2)
        if view.button("View", key=f"view_{product['id']}"):
            st.session_state["product_id"] = product["id"]
            st.switch_page("pages/product.py")
        if add.button("Add", key=f"add_{product['id']}", disabled=product["stock"] <= 0):
            if current_user() is None:
                st.warning("Sign in to add to your cart: open Sign in in the menu.")
            elif (
                call(api().add_to_cart, product["id"], 1, feature="The cart", hint=SMALLER)
                is not None
            ):
                st.toast(f"Added {literal(product['name'])} to your cart")

prev_col, _, next_col = st.columns([1, 4, 1])
if prev_col.button("← Previous", disabled=page_no <= 1, key="catalog_prev"):
    st.session_state["catalog_page"] = page_no - 1
    st.rerun()
if next_col.button("Next →", disabled=page_no >= pages, key="catalog_next"):
    st.session_state["catalog_page"] = page_no + 1
    st.rerun()

if current_user() is not None:
    strip("Picked for you", fetch(api().picked_for_you), "picked_for_you", "shop_picked")
    strip("Buy it again", fetch(api().buy_again), "buy_again", "shop_again")
