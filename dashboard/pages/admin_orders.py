"""Order management: every order, filtered by status, moved along its allowed path."""

from __future__ import annotations

import streamlit as st

from shopui.formatting import TIME_ZONE_NOTE, count, money, when
from shopui.session import api, call, require_admin

NEXT = {
    "pending": ["paid", "cancelled"],
    "paid": ["shipped", "cancelled"],
    "shipped": ["delivered"],
}
STATUSES = ["", "pending", "paid", "shipped", "delivered", "cancelled"]
PAGE_SIZE = 20

require_admin()
st.title("Orders")
filter_col, page_col = st.columns([3, 1])
status = filter_col.selectbox(
    "Status", STATUSES, format_func=lambda s: s or "All", key="adm_orders_status"
)
page_no = int(page_col.number_input("Page", min_value=1, value=1, key="adm_orders_page"))
result = call(
    api().orders, status=status, page=page_no, page_size=PAGE_SIZE, all_users=True, feature="Orders"
)
if result is None:
    st.stop()
st.caption(f"{count(result['total'])} orders. {TIME_ZONE_NOTE}")
if not result["items"]:
    st.info("No orders here.")
    st.stop()
st.dataframe(
    [
        {
            "Order": o["id"],
            "Customer ID": o.get("user_id"),
            "Status": o["status"],
            "Total": money(o.get("total")),
            "Placed": when(o.get("created_at")),
        }
        for o in result["items"]
    ],
    hide_index=True,
)

movable = {f"#{o['id']} ({o['status']})": o for o in result["items"] if o["status"] in NEXT}
if movable:
    st.subheader("Move an order")
    pick_col, to_col, go_col = st.columns([2, 2, 1])
    order = movable[pick_col.selectbox("Order", list(movable), key="adm_move_pick")]
    target = to_col.selectbox("New status", NEXT[order["status"]], key="adm_move_to")
    if go_col.button("Apply", type="primary", key="adm_move_go"):
        if target == "cancelled":
            moved = call(api().cancel_order, order["id"])
        else:
            moved = call(api().set_order_status, order["id"], target)
        if moved is not None:
            st.success(
                f"Order #{moved['id']} is now {moved['status']} ({money(moved.get('total'))})."
            )
