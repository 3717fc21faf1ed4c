"""Streamlit glue: the API client bound to this browser session, sign-in state, error display."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import streamlit as st

from shopui.client import ApiError, NotAvailable, SessionExpired, ShopClient
from shopui.messages import explain

T = TypeVar("T")

USER = "user"
EXPIRED_NOTICE = "session_expired_notice"


@st.cache_resource
def _http_pool() -> httpx.Client:
    # One connection pool for every browser session; tokens travel per request.
    return httpx.Client(timeout=30.0)


def browser_address() -> str | None:
    """The browser's IP as Streamlit saw it; None on this machine (Streamlit hides loopback)."""
    address = st.context.ip_address
    return address if isinstance(address, str) else None


def api() -> ShopClient:
    """The client for this browser session, addresses from COMMERCE_API_URL and ML_API_URL.

    With DASHBOARD_PROXY_SECRET it forwards the browser's address, so the APIs throttle
    sign-in failures and chats per shopper rather than per dashboard server.
    """
    return ShopClient(
        os.environ.get("COMMERCE_API_URL", "http://127.0.0.1:8001"),
        os.environ.get("ML_API_URL", "http://127.0.0.1:8000"),
        st.session_state,
        http=_http_pool(),
        client_address=browser_address(),
        proxy_secret=os.environ.get("DASHBOARD_PROXY_SECRET") or None,
    )


def current_user() -> dict[str, Any] | None:
    user = st.session_state.get(USER)
    return user if user and api().signed_in else None


def show_expiry_notice() -> None:
    """The one-time 'sign in again' notice after a session ran out."""
    if st.session_state.pop(EXPIRED_NOTICE, False):
        st.warning("Your session expired. Please sign in again.", icon=":material/lock:")


def is_admin() -> bool:
    user = current_user()
    return bool(user and user.get("role") == "admin")


def sign_in(email: str, password: str) -> dict[str, Any]:
    user = api().sign_in(email, password)
    st.session_state[USER] = user
    return user


def sign_out() -> None:
    api().forget_tokens()
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def show_error(exc: ApiError, *, feature: str = "This feature", hint: str = "") -> None:
    """Say what went wrong and what to do next, in words a shopper understands."""
    if isinstance(exc, SessionExpired):
        # Start over as a guest, so navigation and sidebar agree; the app shows the notice.
        st.session_state.pop(USER, None)
        st.session_state[EXPIRED_NOTICE] = True
        st.rerun()
    text = explain(exc, feature, hint)
    if isinstance(exc, NotAvailable):
        st.info(text, icon=":material/construction:")
    elif exc.status == 503 and exc.detail:
        st.info(text, icon=":material/hourglass_empty:")
    elif exc.status == 429:
        st.error(text, icon=":material/hourglass_top:")
    elif exc.status == 403:
        st.error(text, icon=":material/block:")
    else:
        st.error(text, icon=":material/warning:")


def call(
    fn: Callable[..., T],
    *args: Any,
    feature: str = "This feature",
    hint: str = "",
    **kwargs: Any,
) -> T | None:
    """`fn(*args, **kwargs)`, or None after showing the API error to the user."""
    try:
        return fn(*args, **kwargs)
    except ApiError as exc:
        show_error(exc, feature=feature, hint=hint)
        return None


def require_sign_in(message: str = "Sign in to see this page.") -> dict[str, Any]:
    """The signed-in user, or stop the page with a pointer to the sign-in page."""
    user = current_user()
    if user is None:
        st.info(message, icon=":material/key:")
        st.page_link(
            "pages/account.py", label="Sign in or create an account", icon=":material/person:"
        )
        st.stop()
    return user


def require_admin() -> dict[str, Any]:
    user = require_sign_in("Sign in as an admin to see this page.")
    if user.get("role") != "admin":
        st.error("This page is for admins only.")
        st.stop()
    return user
