"""shopfn dashboard: the storefront for shoppers and the console for admins (port 5000)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `shopui` next to this file

from shopui.session import current_user, show_expiry_notice, sign_out

st.set_page_config(page_title="shopfn", page_icon="🛍️", layout="wide")

user = current_user()
shop = [
    st.Page("pages/catalog.py", title="Shop", icon="🛍️", default=True),
    st.Page("pages/product.py", title="Product", icon="📦"),
    st.Page("pages/cart.py", title="Cart", icon="🛒"),
    st.Page("pages/checkout.py", title="Checkout", icon="💳"),
    st.Page("pages/orders.py", title="My orders", icon="📜"),
    st.Page("pages/support.py", title="Support chat", icon="💬"),
    st.Page("pages/account.py", title="Account" if user else "Sign in", icon="👤"),
]
sections: dict[str, list] = {"Storefront": shop}
if user and user.get("role") == "admin":
    sections["Admin"] = [
        st.Page("pages/admin_overview.py", title="Overview", icon="📊"),
        st.Page("pages/admin_catalog.py", title="Catalog & inventory", icon="🗂️"),
        st.Page("pages/admin_orders.py", title="Orders", icon="🚚"),
        st.Page("pages/admin_users.py", title="Users", icon="👥"),
        st.Page("pages/admin_support.py", title="Support tickets", icon="🎫"),
        st.Page("pages/admin_ml.py", title="ML monitoring", icon="🤖"),
    ]

with st.sidebar:
    if user:
        st.caption(f"Signed in as **{user['full_name']}** ({user['role']})")
        if st.button("Sign out", key="sidebar_sign_out"):
            sign_out()
            st.rerun()
    else:
        st.caption("Browsing as a guest")

page = st.navigation(sections)
show_expiry_notice()
try:
    page.run()
except Exception:  # the last net: a person never sees a Python traceback
    st.error("Something went wrong while showing this page. Reload it, or try again shortly.")
