"""Coupons: see how often each code was used, make new ones, change or switch them off."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import streamlit as st

from shopui.formatting import TIME_ZONE_NOTE, count, money, when
from shopui.plaintext import literal
from shopui.session import api, call, require_admin

require_admin()
st.title("Coupons")


def _offer(coupon: dict[str, Any]) -> str:
    if coupon["kind"] == "percent":
        return f"{float(coupon['value']):g}% off"
    return f"{money(coupon['value'])} off"


def _limit(value: Any) -> str:
    return "no limit" if value is None else count(value)


filter_col, code_col, page_col = st.columns([2, 3, 1])
shown = filter_col.selectbox(
    "Show", ["Shared codes", "Personal codes", "All"], key="adm_coupons_kind"
)
prefix = code_col.text_input("Code starts with", key="adm_coupons_code")
page_no = int(page_col.number_input("Page", min_value=1, value=1, key="adm_coupons_page"))
personal = {"Shared codes": False, "Personal codes": True}.get(shown)
result = call(
    api().coupons,
    page=page_no,
    page_size=50,
    personal=None if personal is None else str(personal).lower(),
    code=prefix.strip() or None,
    feature="Coupons",
)
if result is None:
    st.stop()
st.caption(f"{count(result['total'])} coupons. {TIME_ZONE_NOTE}")
st.dataframe(
    [
        {
            "Code": c["code"],
            "Offer": _offer(c),
            "Minimum order": money(c["min_order"]) if c["min_order"] else "none",
            "From": when(c["starts_at"]),
            "Until": when(c["ends_at"]) if c["ends_at"] else "no end",
            "Used": count(c["redemption_count"]),
            "Uses in all": _limit(c["max_redemptions"]),
            "Uses per customer": _limit(c["per_customer_limit"]),
            "For customer": c["user_id"] or "everyone",
            "On": "Yes" if c["is_active"] else "No",
        }
        for c in result["items"]
    ],
    hide_index=True,
)


def _day_start(day: Any) -> str | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=UTC).isoformat()


st.subheader("New coupon")
with st.form("new_coupon"):
    code_in, kind_in, value_in = st.columns([3, 2, 2])
    code = code_in.text_input("Code (letters, digits, - or _)", max_chars=40)
    kind = kind_in.radio(
        "Kind",
        ["percent", "amount"],
        horizontal=True,
        format_func=lambda k: "% off" if k == "percent" else "money off",
    )
    value = value_in.text_input("How much off", placeholder="10")
    description = st.text_input("What the customer reads", max_chars=200)
    min_in, start_in, end_in = st.columns(3)
    minimum = min_in.text_input("Minimum order (optional)")
    starts = start_in.date_input("From (UTC, optional)", value=None)
    ends = end_in.date_input("Until (UTC, optional; the code stops at 00:00 that day)", value=None)
    all_in, each_in, who_in = st.columns(3)
    total_limit = all_in.number_input("Uses in all (0: no limit)", min_value=0, value=0)
    per_customer = each_in.number_input("Uses per customer (0: no limit)", min_value=0, value=1)
    user_id = who_in.number_input("Only for customer ID (0: everyone)", min_value=0, value=0)
    if st.form_submit_button("Create coupon", type="primary"):
        fields: dict[str, Any] = {
            "code": code.strip(),
            "kind": kind,
            "value": value.strip(),
            "description": description.strip(),
            "min_order": minimum.strip() or None,
            "starts_at": _day_start(starts),
            "ends_at": _day_start(ends),
            "max_redemptions": int(total_limit) or None,
            "per_customer_limit": int(per_customer) or None,
            "user_id": int(user_id) or None,
        }
        made = call(api().create_coupon, fields, feature="Coupons", hint="Fix it and try again.")
        if made is not None:
            st.success(f"Coupon {literal(made['code'])} is ready: {_offer(made)}.")

codes = {c["code"]: c for c in result["items"]}
if codes:
    st.subheader("Change a coupon")
    picked = codes[st.selectbox("Coupon", list(codes), key="adm_coupons_pick")]
    with st.form(f"coupon_{picked['id']}"):
        active = st.checkbox("On (customers can use it)", value=picked["is_active"])
        more = st.number_input(
            "Uses in all (0: no limit)", min_value=0, value=picked["max_redemptions"] or 0
        )
        if st.form_submit_button("Save", type="primary"):
            changes = {"is_active": active, "max_redemptions": int(more) or None}
            saved = call(api().update_coupon, picked["id"], changes, feature="Coupons")
            if saved is not None:
                st.success(
                    f"{literal(saved['code'])} is {'on' if saved['is_active'] else 'off'}, "
                    f"{_limit(saved['max_redemptions'])} uses in all."
                )
