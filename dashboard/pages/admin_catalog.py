"""Catalog and inventory management: create, edit, deactivate, adjust stock with a reason."""

from __future__ import annotations

import streamlit as st

from shopui.client import ApiError
from shopui.formatting import count, money
from shopui.plaintext import literal
from shopui.session import api, call, require_admin, show_error

require_admin()
st.title("Catalog & inventory")

q = st.text_input("Find products", key="adm_cat_q")
page = call(api().products, q=q or None, page_size=100, feature="The catalog")
products = page["items"] if page else []
if products:
    st.dataframe(
        [
            {
                "ID": p["id"],
                "SKU": p["sku"],
                "Name": p["name"],
                "Category": p["category"],
                "Price": money(p["price"]),
                "In stock": p["stock"],
                "In the shop": "Yes" if p["is_active"] else "No",
            }
            for p in products
        ],
        hide_index=True,
        height=280,
    )

edit_tab, stock_tab, create_tab = st.tabs(["Edit or deactivate", "Adjust stock", "New product"])
labels = {f"{p['sku']} · {p['name']}": p for p in products}

with edit_tab:
    if labels:
        chosen = labels[st.selectbox("Product", list(labels), key="adm_edit_pick")]
        with st.form(f"edit_{chosen['id']}"):
            name = st.text_input("Name", chosen["name"])
            category = st.text_input("Category", chosen["category"])
            price = st.text_input("Price", chosen["price"])
            description = st.text_area("Description", chosen["description"])
            active = st.checkbox("Active (visible in the shop)", value=chosen["is_active"])
            if st.form_submit_button("Save changes", type="primary"):
                changes = {
                    "name": name,
                    "category": category,
                    "price": price.strip(),
                    "description": description,
                    "is_active": active,
                }
                if call(api().update_product, chosen["id"], changes) is not None:
                    st.success(f"Saved {literal(name)}.")
        if st.button("Deactivate this product", key="adm_deactivate"):
            try:
                api().deactivate_product(chosen["id"])
            except ApiError as exc:
                show_error(exc)
            else:
                st.success(f"{literal(chosen['name'])} is out of the shop; past orders keep it.")
    else:
        st.info("No products to edit.")
    with st.expander("Reactivate a deactivated product"):
        hidden_id = st.number_input("Product id", min_value=1, step=1, key="adm_reactivate_id")
        if st.button("Reactivate", key="adm_reactivate"):
            revived = call(api().update_product, int(hidden_id), {"is_active": True})
            if revived is not None:
                st.success(f"{literal(revived['name'])} is back in the shop.")

with stock_tab:
    if labels:
        target = labels[st.selectbox("Product", list(labels), key="adm_stock_pick")]
        st.caption(f"In stock now: {count(target['stock'])}")
        with st.form("adjust_stock"):
            delta = st.number_input("Change (+ received, - removed)", step=1, value=0)
            reason = st.text_input("Reason", placeholder="delivery from supplier, damaged, ...")
            if st.form_submit_button("Apply", type="primary"):
                if delta == 0 or not reason.strip():
                    st.error("Enter a change other than 0 and a reason, then apply.")
                else:
                    updated = call(
                        api().adjust_stock,
                        target["id"],
                        int(delta),
                        reason.strip(),
                        hint="Enter a smaller change.",
                    )
                    if updated is not None:
                        st.success(
                            f"{literal(updated['name'])}: stock is now {count(updated['stock'])}."
                        )

with create_tab, st.form("create_product", clear_on_submit=True):
    sku = st.text_input("SKU", placeholder="EL-1099")
    new_name = st.text_input("Name ")
    new_category = st.text_input("Category ")
    new_price = st.text_input("Price ", placeholder="19.99")
    stock = st.number_input("Initial stock", min_value=0, step=1, value=0)
    new_description = st.text_area("Description ")
    if st.form_submit_button("Create product", type="primary"):
        fields = {
            "sku": sku.strip(),
            "name": new_name.strip(),
            "category": new_category.strip(),
            "price": new_price.strip(),
            "stock": int(stock),
            "description": new_description,
        }
        created = call(api().create_product, fields)
        if created is not None:
            st.success(f"Created {literal(created['name'])} (ID {created['id']}).")
