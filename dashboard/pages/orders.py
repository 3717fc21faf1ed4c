"""My orders: status history, and cancel while it is still possible."""

from __future__ import annotations

import streamlit as st

from shopui.formatting import TIME_ZONE_NOTE, money, when
from shopui.plaintext import literal
from shopui.session import api, call, require_sign_in

CANCELLABLE = {"pending", "paid"}
PAGE_SIZE = 10
ADDRESS_PARTS = ("name", "line1", "line2", "postal_code", "city", "country")

require_sign_in("Sign in to see your orders.")
st.title("My orders")
st.caption(TIME_ZONE_NOTE)
page_no = st.session_state.get("orders_page", 1)
result = call(api().orders, page=page_no, page_size=PAGE_SIZE, feature="Orders")
if result is None:
    st.stop()
if not result["items"]:
    st.info("You have no orders yet.")
    st.stop()

for summary in result["items"]:
    title = (
        f"Order #{summary['id']} · {summary['status']} · {money(summary.get('total'))} · "
        f"{when(summary.get('created_at'))}"
    )
    with st.expander(title):
        order = summary if "status_history" in summary else call(api().order, summary["id"])
        if order is None:
            continue
        for item in order.get("items", []):
            st.markdown(
                f"{item['quantity']} x {literal(item['name'])} — {money(item['line_total'])}"
            )
        st.markdown("**Status history**")
        for step in order.get("status_history", []):
            st.markdown(f"- {literal(step['status'])} on {when(step['at'])}")
        address = order.get("shipping_address") or {}
        if address:
            st.caption(
                "Ships to: "
                + literal(", ".join(str(address[k]) for k in ADDRESS_PARTS if address.get(k)))
            )
        can_cancel = order["status"] in CANCELLABLE
        if can_cancel and st.button("Cancel order", key=f"cancel_{order['id']}"):
            cancelled = call(
                api().cancel_order,
                order["id"],
                feature="Cancelling",
                hint="Reload the page to see where the order is now.",
            )
            if cancelled is not None:
                st.toast(f"Order #{order['id']} is cancelled; its stock is back on the shelf.")
                st.rerun()

pages = max(1, -(-result["total"] // PAGE_SIZE))
if pages > 1:
    st.session_state["orders_page"] = st.number_input(
        "Page", min_value=1, max_value=pages, value=page_no, key="orders_page_input"
    )
