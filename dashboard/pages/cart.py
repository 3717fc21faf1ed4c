"""The cart: quantities, live availability and the subtotal."""

from __future__ import annotations

import streamlit as st

from shopui.coupon_box import coupon_box, show_saving
from shopui.formatting import money, plural
from shopui.messages import SMALLER
from shopui.plaintext import literal
from shopui.recommended import fetch, strip
from shopui.session import api, call, require_sign_in

require_sign_in("Sign in to see your cart.")
st.title("Your cart")
cart = call(api().cart, feature="The cart")
if cart is None:
    st.stop()
if not cart["items"]:
    st.info("Your cart is empty.")
    st.page_link("pages/catalog.py", label="Browse the shop", icon=":material/storefront:")
    st.stop()

for line in cart["items"]:
    pid = line["product_id"]
    with st.container(border=True):
        name_col, qty_col, total_col, action_col = st.columns([4, 2, 2, 2])
        name_col.markdown(f"**{literal(line['name'])}**  \n{money(line['unit_price'])} each")
        if not line.get("is_active", True):
            name_col.error("No longer sold. Remove it to check out.")
        elif not line.get("available", True):
            name_col.error(
                f"Only {line.get('stock', 0)} left in stock. Lower the quantity to check out."
            )
        quantity = qty_col.number_input(
            "Quantity", min_value=0, max_value=100, value=line["quantity"], key=f"qty_{pid}"
        )
        total_col.markdown(f"**{money(line['line_total'])}**")
        changed = quantity != line["quantity"]  # applied at once: totals stay live
        if changed and call(
            api().set_cart_quantity, pid, int(quantity), feature="The cart", hint=SMALLER
        ):
            st.rerun()
        if action_col.button("Remove", key=f"rm_{pid}"):
            call(api().remove_from_cart, pid, feature="The cart")
            st.rerun()

st.subheader(f"Subtotal: {money(cart['subtotal'])} ({plural(cart['item_count'], 'item')})")
show_saving(coupon_box(cart, key="cart_coupon"))
if not cart.get("can_checkout", True):
    st.warning("Lower the quantities marked above before checking out.")
elif st.button("Proceed to checkout", type="primary", key="to_checkout"):
    st.switch_page("pages/checkout.py")

in_cart = [line["product_id"] for line in cart["items"]]
together = fetch(api().bought_together, in_cart)
if strip("Often bought together", together, "often_bought_together", "cart_together"):
    st.rerun()
