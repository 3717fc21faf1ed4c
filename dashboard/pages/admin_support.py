"""Support tickets: conversations handed over to a person, read and moved to resolved."""

from __future__ import annotations

import streamlit as st

from shopui.formatting import TIME_ZONE_NOTE, count, when
from shopui.session import api, call, require_admin

STATUSES = ["open", "in_progress", "resolved"]

require_admin()
st.title("Support tickets")
status = st.selectbox(
    "Status", ["", *STATUSES], format_func=lambda s: s or "All", key="adm_tickets_status"
)
tickets = call(api().tickets, page_size=100, status=status or None, feature="Support tickets")
if tickets is None:
    st.stop()
items = tickets.get("items", [])
st.caption(f"{count(tickets.get('total', len(items)))} tickets. {TIME_ZONE_NOTE}")
if not items:
    st.success("No tickets here.")
    st.stop()
st.dataframe(
    [
        {
            "Ticket": t["id"],
            "Status": t["status"].replace("_", " "),
            "Customer ID": t.get("user_id"),
            "Summary": t["summary"],
            "Opened": when(t["created_at"]),
        }
        for t in items
    ],
    hide_index=True,
)

by_label = {f"#{t['id']} · {t['status']} · {' '.join(t['summary'].split())[:60]}": t for t in items}
ticket = by_label[st.selectbox("Ticket", list(by_label), key="adm_ticket_pick")]
conversation = call(api().conversation, ticket["conversation_id"], feature="Conversations")
with st.container(border=True, height=320):
    for message in (conversation or {}).get("messages", []):
        with st.chat_message("user" if message["role"] == "user" else "assistant"):
            st.text(message["content"])
with st.form(f"ticket_{ticket['id']}"):
    new_status = st.radio(
        "Status",
        STATUSES,
        index=STATUSES.index(ticket["status"]),
        format_func=lambda s: s.replace("_", " ").capitalize(),
        horizontal=True,
    )
    note = st.text_area("Resolution note", ticket.get("resolution_note") or "")
    if st.form_submit_button("Save ticket", type="primary"):
        changes = {"status": new_status, "resolution_note": note.strip() or None}
        updated = call(api().update_ticket, ticket["id"], changes)
        if updated is not None:
            st.success(f"Ticket #{updated['id']} is {updated['status']}.")
