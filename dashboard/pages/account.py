"""Sign in, create an account, or see who is signed in."""

from __future__ import annotations

import streamlit as st

from shopui.client import ApiError
from shopui.plaintext import literal
from shopui.session import USER, api, current_user, show_error, sign_in, sign_out

user = current_user()
if user:
    st.title("Your account")
    st.markdown(
        f"**{literal(user['full_name'])}** · {literal(user['email'])} · {literal(user['role'])}"
    )
    opted_out = bool(user.get("marketing_opt_out", False))
    wanted = st.toggle(
        "Send me offers by e-mail",
        value=not opted_out,
        key="account_offers",
        help="Now and then we send a personal discount code. Switch this off to get none.",
    )
    if wanted == opted_out:  # the switch moved: save it at once
        try:
            updated = api().update_me({"marketing_opt_out": not wanted})
        except ApiError as exc:
            show_error(exc, feature="Your account")
        else:
            st.session_state[USER] = updated
            st.success("Saved: " + ("we will send you offers." if wanted else "no more offers."))
    if st.button("Sign out", key="account_sign_out"):
        sign_out()
        st.rerun()
    st.stop()

st.title("Welcome to shopfn")
sign_in_tab, sign_up_tab = st.tabs(["Sign in", "Create an account"])
with sign_in_tab, st.form("sign_in"):
    email = st.text_input("E-mail", key="signin_email")
    password = st.text_input("Password", type="password", key="signin_password")
    if st.form_submit_button("Sign in", type="primary"):
        try:
            who = sign_in(email.strip(), password)
        except ApiError as exc:
            if exc.status == 401:
                st.error("Wrong e-mail or password. Check both and try again.")
            else:
                show_error(exc)
        else:
            st.success(f"Welcome back, {literal(who['full_name'])}!")
            st.rerun()

with sign_up_tab, st.form("sign_up"):
    full_name = st.text_input("Full name", key="signup_name")
    new_email = st.text_input("E-mail", key="signup_email")
    new_password = st.text_input(
        "Password (at least 8 characters)", type="password", key="signup_password"
    )
    if st.form_submit_button("Create account", type="primary"):
        try:
            api().register(new_email.strip(), new_password, full_name.strip())
            sign_in(new_email.strip(), new_password)
        except ApiError as exc:
            show_error(exc, hint="Sign in with it instead, or use another e-mail address.")
        else:
            st.rerun()
