"""The storefront's banner: a personal code the signed-in customer can use now."""

from __future__ import annotations

import streamlit as st

from shopui.client import ApiError, SessionExpired
from shopui.formatting import money
from shopui.plaintext import literal
from shopui.session import api, current_user, show_error


def offer_banner() -> None:
    """One line per usable personal code; nothing for guests, or when offers cannot be read."""
    if current_user() is None:
        return
    try:
        offers = api().my_offers()
    except SessionExpired as exc:
        show_error(exc)  # starts over as a guest with the "sign in again" notice
        return
    except ApiError:
        return  # a banner is a nicety: the shop works without it
    for offer in offers or []:
        minimum = (
            f" on orders of {money(offer['min_order'])} or more" if offer.get("min_order") else ""
        )
        st.success(
            f"Just for you: {literal(offer['description'])}{minimum}. "
            f"Use the code **{literal(offer['code'])}** in your cart.",
            icon=":material/redeem:",
        )
