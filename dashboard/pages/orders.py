"""My orders: what each order's payment is, its history, pay now, and cancel while possible."""

from __future__ import annotations

from decimal import Decimal

import streamlit as st

from shopui.formatting import ACTOR_WORDS, TIME_ZONE_NOTE, money, order_status, when
from shopui.messages import payment_failed
from shopui.payment_step import PAID, UNPAID, start_paying
from shopui.plaintext import literal
from shopui.session import api, call, require_sign_in

#: Unpaid orders are cancelled; paid ones not shipped yet are cancelled and refunded.
CANCELLABLE = {*UNPAID, "paid", "partially_refunded"}
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
        f"Order #{summary['id']} · {order_status(summary['status'])} · "
        f"{money(summary.get('total'))} · {when(summary.get('created_at'))}"
    )
    with st.expander(title):
        order = summary if "status_history" in summary else call(api().order, summary["id"])
        if order is None:
            continue
        for item in order.get("items", []):
            st.markdown(
                f"{item['quantity']} x {literal(item['name'])} — {money(item['line_total'])}"
            )
        if order["status"] == "payment_failed":
            st.error(payment_failed(order.get("payment_error")))
        if order["status"] in UNPAID:
            st.caption(
                f"Pay by {when(order.get('hold_until'), zone=True)}; after that the order is "
                "cancelled and its items go back on the shelf."
            )
            if st.button("Pay now", type="primary", key=f"pay_{order['id']}"):
                start_paying(order["id"])
        refunded = Decimal(str(order.get("refunded_total") or 0))
        if refunded:
            st.markdown(f"Refunded to your card: {money(refunded)}")
        st.markdown("**Status history**")
        for step in order.get("status_history", []):
            by = ACTOR_WORDS.get(step.get("actor_kind") or "")
            said = f"- {order_status(step['status'])} on {when(step['at'])}"
            st.markdown(f"{said}, {by}" if by else said)
        address = order.get("shipping_address") or {}
        if address:
            st.caption(
                "Ships to: "
                + literal(", ".join(str(address[k]) for k in ADDRESS_PARTS if address.get(k)))
            )
        paid = order["status"] in PAID
        label = "Cancel and refund" if paid else "Cancel order"
        if order["status"] in CANCELLABLE and st.button(label, key=f"cancel_{order['id']}"):
            cancelled = call(
                api().cancel_order,
                order["id"],
                feature="Cancelling",
                hint="Reload the page to see where the order is now.",
            )
            if cancelled is not None:
                back = money(cancelled.get("refunded_total"))
                st.toast(
                    f"Order #{order['id']} is cancelled and {back} goes back to your card."
                    if paid
                    else f"Order #{order['id']} is cancelled; its stock is back on the shelf."
                )
                st.rerun()

pages = max(1, -(-result["total"] // PAGE_SIZE))
if pages > 1:
    st.session_state["orders_page"] = st.number_input(
        "Page", min_value=1, max_value=pages, value=page_no, key="orders_page_input"
    )
