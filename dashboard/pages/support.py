"""The support chat: questions about products, and (signed in) about your own orders."""

from __future__ import annotations

import streamlit as st

from shopui.plaintext import literal
from shopui.session import api, call, current_user

HISTORY = "chat_history"
LOOKUPS = {
    "search_products": "the catalog",
    "get_product": "a product",
    "show_my_cart": "your cart",
    "list_my_orders": "your orders",
    "get_my_order": "an order",
    "hand_over_to_human": "a person from our team (a ticket is open)",
}
CONVERSATION = "chat_conversation_id"

st.title("Support chat")
if current_user() is None:
    st.caption("Sign in to ask about your own orders.")
history: list[dict[str, str]] = st.session_state.setdefault(HISTORY, [])
for message in history:
    with st.chat_message(message["role"]):
        st.text(message["content"])

question = st.chat_input("Ask about an order, a product, shipping...")
if question:
    history.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.text(question)
    answer = call(
        api().chat, question, st.session_state.get(CONVERSATION), feature="The support chat"
    )
    if answer is not None:
        st.session_state[CONVERSATION] = answer.get("conversation_id")
        history.append({"role": "assistant", "content": answer["reply"]})
        with st.chat_message("assistant"):
            st.text(answer["reply"])
            if answer.get("tools_used"):
                looked = [
                    LOOKUPS.get(str(t), str(t).replace("_", " ")) for t in answer["tools_used"]
                ]
                st.caption("Looked at " + literal(", ".join(dict.fromkeys(looked))))
if history and st.button("New conversation", key="chat_reset"):
    st.session_state.pop(CONVERSATION, None)
    st.session_state[HISTORY] = []
    st.rerun()
