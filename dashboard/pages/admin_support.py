"""Support tickets: conversations that need a person, and what was said in them."""

from __future__ import annotations

import streamlit as st
from shopui.client import ApiError, NotAvailable
from shopui.session import api, call, require_admin, show_error

require_admin()
st.title("Support tickets")

try:
    tickets = api().tickets(page_size=50)
except NotAvailable:
    tickets = None  # no ticket queue yet: fall back to conversations
except ApiError as exc:
    show_error(exc, feature="Support tickets")
    st.stop()

if tickets is not None:
    items = tickets.get("items", [])
    st.caption(f"{tickets.get('total', len(items))} tickets")
    if items:
        st.dataframe(items, hide_index=True)
    else:
        st.success("No open tickets.")
    st.stop()

conversations = call(api().conversations, page_size=50, feature="Support conversations")
if conversations is None:
    st.stop()
items = conversations.get("items", [])
st.caption(f"{conversations.get('total', len(items))} conversations")
if not items:
    st.info("No conversations yet.")
    st.stop()
st.dataframe(items, hide_index=True)
choice = st.selectbox("Open conversation", [c["id"] for c in items], key="adm_conv_pick")
conversation = call(api().conversation, choice)
if conversation:
    for message in conversation.get("messages", []):
        with st.chat_message("user" if message["role"] == "user" else "assistant"):
            st.write(message["content"])
