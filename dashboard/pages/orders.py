"""My orders: status history, and cancel while it is still possible."""

from __future__ import annotations

import streamlit as st

from shopui.session import api, call, money, require_sign_in

CANCELLABLE = {"pending", "paid"}
PAGE_SIZE = 10

require_sign_in("Sign in to see your orders.")
st.title("My orders")
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
        f"{str(summary.get('created_at', ''))[:16].replace('T', ' ')}"
    )
    with st.expander(title):
        order = summary if "status_history" in summary else call(api().order, summary["id"])
        if order is None:
            continue
        for item in order.get("items", []):
            st.write(f"{item['quantity']} x {item['name']} — {money(item['line_total'])}")
        st.markdown("**Status history**")
        for step in order.get("status_history", []):
            st.write(f"- {step['status']} at {str(step['at'])[:19].replace('T', ' ')} UTC")
        address = order.get("shipping_address") or {}
        if address:
            st.caption(
                "Ships to: "
                + ", ".join(
                    str(address[k]) for k in ("name", "line1", "city", "country") if k in address
                )
            )
        can_cancel = order["status"] in CANCELLABLE
        if can_cancel and st.button("Cancel order", key=f"cancel_{order['id']}"):
            cancelled = call(api().cancel_order, order["id"], feature="Cancelling")
            if cancelled is not None:
                st.toast(f"Order #{order['id']} is cancelled; its stock is back on the shelf.")
                st.rerun()

pages = max(1, -(-result["total"] // PAGE_SIZE))
if pages > 1:
    st.session_state["orders_page"] = st.number_input(
        "Page", min_value=1, max_value=pages, value=page_no, key="orders_page_input"
    )
