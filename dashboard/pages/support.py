"""The support chat: questions about products, and (signed in) about your own orders."""

from __future__ import annotations

import streamlit as st

from shopui.session import api, call, current_user

HISTORY = "chat_history"
CONVERSATION = "chat_conversation_id"

st.title("Support chat")
if current_user() is None:
    st.caption("Sign in to ask about your own orders.")
history: list[dict[str, str]] = st.session_state.setdefault(HISTORY, [])
for message in history:
    with st.chat_message(message["role"]):
        st.write(message["content"])

question = st.chat_input("Ask about an order, a product, shipping...")
if question:
    history.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.write(question)
    answer = call(
        api().chat, question, st.session_state.get(CONVERSATION), feature="The support chat"
    )
    if answer is not None:
        st.session_state[CONVERSATION] = answer.get("conversation_id")
        history.append({"role": "assistant", "content": answer["reply"]})
        with st.chat_message("assistant"):
            st.write(answer["reply"])
            if answer.get("tools_used"):
                st.caption("Looked up: " + ", ".join(map(str, answer["tools_used"])))
if history and st.button("New conversation", key="chat_reset"):
    st.session_state.pop(CONVERSATION, None)
    st.session_state[HISTORY] = []
    st.rerun()
