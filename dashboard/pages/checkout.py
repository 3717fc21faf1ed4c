"""Checkout: the shipping form places the order (one Idempotency-Key per attempt, so one order
at most), then the payment step takes the card for it."""

from __future__ import annotations

import uuid

import streamlit as st

from shopui.client import ApiError
from shopui.coupon_box import COUPON, coupon_box, show_saving
from shopui.formatting import money
from shopui.payment_step import PAYING, show_payment_step
from shopui.plaintext import literal
from shopui.session import api, call, require_sign_in, show_error

KEY = "checkout_idempotency_key"

user = require_sign_in("Sign in to check out.")
st.title("Checkout")

if PAYING in st.session_state:
    show_payment_step(st.session_state[PAYING])
    st.stop()

cart = call(api().cart, feature="The cart")
if cart is None:
    st.stop()
# With an attempt under way the form stays: a repeated submit must reach the API (which
# answers with the order the first submit made), not stop at the cart it already emptied.
if not cart["items"] and KEY not in st.session_state:
    st.info("Your cart is empty.")
    st.page_link("pages/catalog.py", label="Browse the shop", icon=":material/storefront:")
    st.stop()

for line in cart["items"]:
    st.markdown(f"{line['quantity']} x {literal(line['name'])} — {money(line['line_total'])}")
priced = coupon_box(cart, key="checkout_coupon")
if not show_saving(priced):
    st.subheader(f"Total: {money(cart['subtotal'])}")

# One key per checkout attempt: a double click (two reruns) resends the same key, and the API
# answers with the same order instead of a second one.
st.session_state.setdefault(KEY, str(uuid.uuid4()))
with st.form("shipping"):
    name = st.text_input("Full name", value=user.get("full_name", ""), key="ship_name")
    line1 = st.text_input("Address line 1", key="ship_line1")
    line2 = st.text_input("Address line 2 (optional)", key="ship_line2")
    city_col, postal_col, country_col = st.columns(3)
    city = city_col.text_input("City", key="ship_city")
    postal_code = postal_col.text_input("Postal code", key="ship_postal")
    country = country_col.text_input("Country", key="ship_country")
    submitted = st.form_submit_button("Place order", type="primary")

if submitted:
    address = {
        "name": name.strip(),
        "line1": line1.strip(),
        "city": city.strip(),
        "postal_code": postal_code.strip(),
        "country": country.strip(),
    }
    missing = [label for label, value in address.items() if not value]
    if line2.strip():
        address["line2"] = line2.strip()
    if missing:
        st.error(
            f"Please fill in the {', '.join(m.replace('_', ' ') for m in missing)}, "
            "then place the order."
        )
        st.stop()
    try:
        order = api().place_order(
            address, st.session_state[KEY], coupon_code=st.session_state.get(COUPON)
        )
    except ApiError as exc:
        if exc.status < 500 and exc.status != 401:
            st.session_state.pop(KEY, None)  # a definite answer: the next attempt is a new one
        show_error(exc, feature="Checkout", hint="Change your cart, then place the order again.")
    else:
        st.session_state.pop(KEY, None)
        st.session_state.pop(COUPON, None)
        st.session_state[PAYING] = order["id"]  # next: pay for it
        st.rerun()
