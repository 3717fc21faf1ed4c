"""The coupon field of the cart and checkout: the code, why it does not work, and the saving."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import streamlit as st

from shopui.client import ApiError, SessionExpired
from shopui.formatting import money
from shopui.plaintext import literal
from shopui.session import api, show_error

#: The code that worked last, kept for checkout.
COUPON = "coupon_code"


def coupon_box(cart: dict[str, Any], *, key: str) -> dict[str, Any]:
    """Show the field; the cart priced with a code that works now (the plain cart otherwise)."""
    typed = st.text_input(
        "Coupon code", value=st.session_state.get(COUPON, ""), key=key, max_chars=40
    ).strip()
    if not typed:
        st.session_state.pop(COUPON, None)
        return cart
    try:
        priced = api().cart(coupon=typed)
    except SessionExpired as exc:
        show_error(exc)
        return cart
    except ApiError as exc:
        st.session_state.pop(COUPON, None)
        st.warning(literal(exc.detail or exc.message), icon=":material/sell:")
        return cart
    st.session_state[COUPON] = priced["coupon_code"]
    about = (
        f" ({literal(priced['coupon_description'])})" if priced.get("coupon_description") else ""
    )
    st.success(
        f"Code {literal(priced['coupon_code'])}{about}: you save {money(priced['discount'])}."
    )
    return priced


def show_saving(cart: dict[str, Any]) -> bool:
    """The saving and what is left to pay, when a code takes something off; whether it did."""
    if Decimal(str(cart.get("discount") or 0)) <= 0:
        return False
    st.markdown(f"You save {money(cart['discount'])}")
    st.subheader(f"Total: {money(cart['total'])}")
    return True
