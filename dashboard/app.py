"""shopfn dashboard: the storefront for shoppers and the console for admins (port 5000)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `shopui` next to this file

from shopui.plaintext import literal
from shopui.session import current_user, show_expiry_notice, sign_out

st.set_page_config(page_title="shopfn", page_icon=":material/storefront:", layout="wide")

user = current_user()
shop = [
    st.Page("pages/catalog.py", title="Shop", icon=":material/storefront:", default=True),
    st.Page("pages/product.py", title="Product", icon=":material/inventory_2:"),
    st.Page("pages/cart.py", title="Cart", icon=":material/shopping_cart:"),
    st.Page("pages/checkout.py", title="Checkout", icon=":material/payments:"),
    st.Page("pages/orders.py", title="My orders", icon=":material/receipt_long:"),
    st.Page("pages/support.py", title="Support chat", icon=":material/support_agent:"),
    st.Page("pages/account.py", title="Account" if user else "Sign in", icon=":material/person:"),
]
sections: dict[str, list] = {"Storefront": shop}
if user and user.get("role") == "admin":
    sections["Admin"] = [
        st.Page("pages/admin_overview.py", title="Overview", icon=":material/monitoring:"),
        st.Page("pages/admin_catalog.py", title="Catalog & inventory", icon=":material/category:"),
        st.Page("pages/admin_orders.py", title="Orders", icon=":material/local_shipping:"),
        st.Page("pages/admin_coupons.py", title="Coupons", icon=":material/sell:"),
        st.Page("pages/admin_users.py", title="Users", icon=":material/group:"),
        st.Page(
            "pages/admin_support.py", title="Support tickets", icon=":material/confirmation_number:"
        ),
        st.Page("pages/admin_ml.py", title="ML monitoring", icon=":material/model_training:"),
    ]

with st.sidebar:
    if user:
        st.caption(f"Signed in as **{literal(user['full_name'])}** ({literal(user['role'])})")
        if st.button("Sign out", key="sidebar_sign_out"):
            sign_out()
            st.rerun()
    else:
        st.caption("Browsing as a guest")

page = st.navigation(sections, expanded=True)
show_expiry_notice()
try:
    page.run()
except Exception:  # the last net: a person never sees a Python traceback
    st.error("Something went wrong while showing this page. Reload it, or try again shortly.")
