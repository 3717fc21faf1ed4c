"""Order management: every order with its payment, refunds, and orders whose payment needs
a look. Orders become paid only through the payment provider: there is no way to set it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import streamlit as st

from shopui.client import ApiError
from shopui.formatting import ORDER_STATUS_WORDS, TIME_ZONE_NOTE, count, money, order_status, when
from shopui.messages import refund_amount_problem
from shopui.payment_step import PAID, UNPAID
from shopui.plaintext import no_math
from shopui.session import api, call, require_admin, show_error

#: The moves an admin makes by hand; payment states come from the provider.
NEXT = {
    "awaiting_payment": ["cancelled"],
    "payment_failed": ["cancelled"],
    "paid": ["shipped", "cancelled"],
    "partially_refunded": ["shipped", "cancelled"],
    "shipped": ["delivered"],
}
MOVE_WORDS = {"shipped": "Shipped", "delivered": "Delivered", "cancelled": "Cancelled"}
STATUSES = ["", *ORDER_STATUS_WORDS]
PAGE_SIZE = 20
DONE = "adm_orders_done"


def done(text: str) -> None:
    """Say what was done after the page reloads its orders (they changed)."""
    st.session_state[DONE] = text
    st.rerun()


require_admin()
st.title("Orders")
if DONE in st.session_state:
    st.success(no_math(st.session_state.pop(DONE)))
st.caption(
    "An order becomes paid only when the payment provider confirms the payment; refunds go "
    f"back through the provider. {TIME_ZONE_NOTE}"
)
filter_col, page_col = st.columns([3, 1])
status = filter_col.selectbox(
    "Status",
    STATUSES,
    format_func=lambda s: order_status(s) if s else "All",
    key="adm_orders_status",
)
page_no = int(page_col.number_input("Page", min_value=1, value=1, key="adm_orders_page"))
result = call(
    api().orders, status=status, page=page_no, page_size=PAGE_SIZE, all_users=True, feature="Orders"
)
if result is None:
    st.stop()
st.caption(f"{count(result['total'])} orders.")
orders = result["items"]
if orders:
    st.dataframe(
        [
            {
                "Order": o["id"],
                "Customer ID": o.get("user_id"),
                "Status": order_status(o["status"]),
                "Total": money(o.get("total")),
                "Refunded": money(o.get("refunded_total") or 0),
                "Placed": when(o.get("created_at")),
                "Pay by": when(o.get("hold_until")) if o["status"] in UNPAID else "",
            }
            for o in orders
        ],
        hide_index=True,
    )
else:
    st.info("No orders here.")


def label(order: dict) -> str:
    return f"#{order['id']} ({order_status(order['status'])}, {money(order.get('total'))})"


movable = {label(o): o for o in orders if o["status"] in NEXT}
if movable:
    st.subheader("Move an order")
    pick_col, to_col, go_col = st.columns([2, 2, 1])
    order = movable[pick_col.selectbox("Order", list(movable), key="adm_move_pick")]
    was = order["status"]

    def move_words(status: str) -> str:
        if status == "cancelled" and was in PAID:
            return "Cancelled and refunded"
        return MOVE_WORDS[status]

    target = to_col.selectbox(
        "New status",
        NEXT[was],
        format_func=move_words,
        key=f"adm_move_to_{order['id']}",  # each order its own moves
    )
    if go_col.button("Apply", type="primary", key="adm_move_go"):
        if target == "cancelled":
            moved = call(api().cancel_order, order["id"])
        else:
            moved = call(api().set_order_status, order["id"], target)
        if moved is not None:
            done(f"Order #{moved['id']} is now {order_status(moved['status']).lower()}.")

refundable = {label(o): o for o in orders if o["status"] in PAID}
if refundable:
    st.subheader("Refund an order")
    order = refundable[st.selectbox("Order to refund", list(refundable), key="adm_refund_pick")]
    left = Decimal(str(order["total"])) - Decimal(str(order.get("refunded_total") or 0))
    st.caption(
        no_math(
            f"Paid {money(order['total'])}; {money(left)} can still be refunded. The money goes "
            "back to the customer's card; refunding all of an order not shipped yet returns "
            "its stock."
        )
    )
    amount_col, reason_col = st.columns([1, 2])
    amount = amount_col.text_input("Amount to refund", placeholder="10.00", key="adm_refund_amt")
    reason = reason_col.text_input("Reason (optional)", key="adm_refund_reason")
    whole_col, part_col = st.columns(2)
    whole = whole_col.button(f"Refund all that is left ({money(left)})", key="adm_refund_all")
    part = part_col.button("Refund this amount", key="adm_refund_part")
    problem = refund_amount_problem(amount, left) if part else None
    if problem:
        st.error(problem)
    elif whole or part:
        wanted = amount.strip().lstrip("$").replace(",", "") if part else None
        # One key per refund (order and amount): a double click or a retry refunds once.
        key_name = f"adm_refund_key_{order['id']}_{wanted or 'all'}"
        key = st.session_state.setdefault(key_name, str(uuid.uuid4()))
        try:
            refund = api().refund_order(order["id"], key, amount=wanted, reason=reason.strip())
        except ApiError as exc:
            if exc.status < 500:  # a definite answer: the next attempt is a new refund
                st.session_state.pop(key_name, None)
            show_error(exc, feature="Refunds", hint="Reload the page to see the order as it is.")
        else:
            st.session_state.pop(key_name, None)
            done(
                f"Refunded {money(refund['refund']['amount'])} of order #{order['id']}: it is "
                f"now {order_status(refund['order_status']).lower()}, "
                f"{money(refund['refunded_total'])} refunded in all."
            )

st.subheader("Payments that need a look")
issues = call(api().payment_issues, page_size=PAGE_SIZE, feature="The payment issues")
if issues is not None and issues["items"]:
    st.dataframe(
        [
            {
                "Order": i["id"],
                "Customer ID": i.get("user_id"),
                "Status": order_status(i["status"]),
                "Total": money(i.get("total")),
                "What happened": i.get("payment_issue") or "",
                "Changed": when(i.get("updated_at")),
            }
            for i in issues["items"]
        ],
        hide_index=True,
    )
elif issues is not None:
    st.success("No payment needs a look: every payment matched its order.")
unpaid = {s: call(api().orders, status=s, page_size=1, all_users=True) for s in UNPAID}
waiting = ", ".join(
    f"{count(page['total'])} {order_status(s).lower()}" for s, page in unpaid.items() if page
)
if waiting:
    st.caption(
        f"Unpaid orders: {waiting}. Pick that status above to see them; they expire by "
        "themselves when their hold ends."
    )
