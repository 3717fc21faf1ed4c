"""The checkout's payment step for one order: the card form, the bank's check, the outcome.

Which form shows follows GET /payments/config: Stripe's Payment Element (Stripe.js, loaded
only then) when the shop has a real Stripe key, else the test mode's own card form, named as
a test mode and listing the test cards. The order becomes paid only when the provider says
so; this step reads the order's payment again after every answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import streamlit as st

from shopui.client import ApiError, SessionExpired
from shopui.formatting import money, order_status, when
from shopui.messages import NOT_PAID_IN_TIME, card_not_taken, payment_failed
from shopui.payment_forms import card_form_problems, spaced, stripe_payment_element
from shopui.plaintext import literal
from shopui.session import api, call, show_error

#: The order this step takes payment for: set by checkout and by "Pay now" in My orders.
PAYING = "paying_order_id"
UNPAID = ("awaiting_payment", "payment_failed")
PAID = ("paid", "partially_refunded", "shipped", "delivered")


def start_paying(order_id: int) -> None:
    """Open the checkout's payment step for `order_id` (from My orders' "Pay now")."""
    st.session_state[PAYING] = order_id
    st.switch_page("pages/checkout.py")


def show_payment_step(order_id: int) -> None:
    """Everything the shopper sees about paying `order_id`, and the form to pay it."""
    payment = call(api().order_payment, order_id, feature="Payment")
    if payment is None:
        st.session_state.pop(PAYING, None)  # never stuck: My orders' "Pay now" brings it back
        return
    status, amount = payment["status"], money(payment["amount"])
    if status not in UNPAID:
        st.session_state.pop(PAYING, None)  # done here: the next visit is a new checkout
        if status in PAID:
            st.success(f"Thank you! Order #{order_id} is paid ({amount}).")
        elif status == "expired":
            st.warning(f"Order #{order_id}: {NOT_PAID_IN_TIME}")
        else:
            st.info(f"Order #{order_id} is {order_status(status).lower()}: nothing to pay.")
        st.page_link("pages/orders.py", label="See my orders", icon=":material/receipt_long:")
        st.page_link("pages/catalog.py", label="Keep shopping", icon=":material/storefront:")
        return
    hold = when(payment.get("hold_until"), zone=True)
    st.info(
        f"Order #{order_id} is placed ({amount}) and waits for your payment. "
        f"We hold its items for you until {hold}."
    )
    if status == "payment_failed":
        st.error(payment_failed(payment.get("payment_error")), icon=":material/credit_card_off:")
    config = call(api().payment_config, feature="Payment")
    if config is None:
        return
    if config.get("provider") == "stripe":
        _stripe_form(payment, amount)
    elif payment.get("intent_status") == "requires_action":
        _bank_check(order_id)
    else:
        _test_card_form(order_id, amount, config.get("test_cards") or [])
    if st.button("Pay later", key="pay_later", help="The order waits in My orders until then."):
        st.session_state.pop(PAYING, None)
        st.switch_page("pages/orders.py")


def _test_card_form(order_id: int, amount: str, cards: list[dict[str, Any]]) -> None:
    st.subheader("Pay by card (test mode)")
    listed = "\n".join(f"- **{spaced(c['number'])}**: {literal(c['outcome'])}" for c in cards)
    st.warning(
        "**Test mode: no money moves.** This shop has no Stripe key, so it takes only "
        f"Stripe's test card numbers, with any future expiry date and any CVC:\n\n{listed}",
        icon=":material/science:",
    )
    with st.form("test_card", clear_on_submit=True):
        number = st.text_input("Card number", placeholder="4242 4242 4242 4242", key="card_no")
        expiry_col, cvc_col = st.columns(2)
        expiry = expiry_col.text_input("Expiry (MM/YY)", placeholder="12/34", key="card_expiry")
        cvc = cvc_col.text_input("CVC", placeholder="123", type="password", key="card_cvc")
        submitted = st.form_submit_button(f"Pay {amount} (test mode)", type="primary")
    if not submitted:
        return
    accepted = {c["number"] for c in cards}
    problems = card_form_problems(number, expiry, cvc, datetime.now(UTC).date(), accepted)
    if problems:
        st.error(" ".join(problems))
        return
    _send(api().pay_with_test_card, order_id, number)


def _bank_check(order_id: int) -> None:
    st.subheader("Confirm the payment with your bank (test mode)")
    st.warning(
        "Your bank asks you to confirm this payment. In test mode these buttons stand in for "
        "the bank's own page: Authenticate to pay, or fail the check to see what happens.",
        icon=":material/verified_user:",
    )
    approve_col, fail_col = st.columns(2)
    if approve_col.button("Authenticate", type="primary", key="bank_approve"):
        _send(api().answer_test_authentication, order_id, True)
    if fail_col.button("Fail the check", key="bank_fail"):
        _send(api().answer_test_authentication, order_id, False)


def _send(method: Any, order_id: int, value: Any) -> None:
    """Send the card or the bank's answer, then show the order as the shop now has it."""
    try:
        method(order_id, value)
    except SessionExpired as exc:
        show_error(exc)
    except ApiError as exc:
        st.error(card_not_taken(exc), icon=":material/credit_card_off:")
        return
    st.rerun()


def _stripe_form(payment: dict[str, Any], amount: str) -> None:
    key, secret = payment.get("publishable_key"), payment.get("client_secret")
    st.subheader("Pay by card")
    if not key or not secret:
        st.error("Card payment is not ready on this shop yet. Try again in a few minutes.")
        return
    from streamlit.components.v1 import html  # Stripe.js only when a real key is set

    return_url = str(st.context.url or "")
    html(stripe_payment_element(key, secret, f"Pay {amount}", return_url), height=480)
    st.caption("Your card goes straight to Stripe; this shop never sees its number.")
    if st.button("Check payment", key="check_payment", type="primary"):
        st.rerun()
