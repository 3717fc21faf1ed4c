"""Users: find accounts, change roles, deactivate or reactivate."""

from __future__ import annotations

import streamlit as st

from shopui.formatting import TIME_ZONE_NOTE, count, when
from shopui.plaintext import literal
from shopui.session import api, call, require_admin

me = require_admin()
st.title("Users")
q_col, role_col, page_col = st.columns([3, 2, 1])
q = q_col.text_input("Search by e-mail or name", key="adm_users_q")
role = role_col.selectbox(
    "Role", ["", "customer", "admin"], format_func=lambda r: r or "Any", key="adm_users_role"
)
page_no = int(page_col.number_input("Page", min_value=1, value=1, key="adm_users_page"))
result = call(api().users, q=q, role=role, page=page_no, page_size=50, feature="Users")
if result is None:
    st.stop()
st.caption(f"{count(result['total'])} users. {TIME_ZONE_NOTE}")
st.dataframe(
    [
        {
            "ID": u["id"],
            "E-mail": u["email"],
            "Name": u["full_name"],
            "Role": u["role"],
            "Active": "Yes" if u["is_active"] else "No",
            "Joined": when(u["created_at"]),
        }
        for u in result["items"]
    ],
    hide_index=True,
)
others = {
    f"{u['email']} ({u['role']}, {'active' if u['is_active'] else 'inactive'})": u
    for u in result["items"]
    if u["id"] != me["id"]
}
if others:
    st.subheader("Change an account")
    user = others[st.selectbox("Account", list(others), key="adm_users_pick")]
    with st.form(f"user_{user['id']}"):
        new_role = st.radio(
            "Role",
            ["customer", "admin"],
            index=0 if user["role"] == "customer" else 1,
            horizontal=True,
        )
        active = st.checkbox("Active (may sign in)", value=user["is_active"])
        if st.form_submit_button("Save", type="primary"):
            updated = call(api().update_user, user["id"], {"role": new_role, "is_active": active})
            if updated is not None:
                st.success(
                    f"{literal(updated['email'])} is now {updated['role']}, "
                    f"{'active' if updated['is_active'] else 'deactivated'}."
                )
