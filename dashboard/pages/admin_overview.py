"""Admin overview: revenue and orders per day, orders by status, top products, low stock.

Every figure comes from the stats endpoints, computed in SQL; no order list is downloaded here.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from shopui.formatting import TIME_ZONE_NOTE, count, currency, money, order_status
from shopui.plaintext import chart_label
from shopui.session import api, call, require_admin
from shopui.tables import as_rows, number

require_admin()
st.title("Overview")
st.caption(f"Sales figures come from every order placed in the period. {TIME_ZONE_NOTE}")
days = st.segmented_control("Period", [7, 30, 90], default=30, key="overview_days") or 30
stats = call(api().order_stats, days=days, feature="Order statistics")

if stats is not None:
    totals = stats.get("totals", {})
    kpi = st.columns(4)
    kpi[0].metric(f"Revenue, last {days} days", money(totals.get("revenue")))
    kpi[1].metric("Orders", count(totals.get("orders")))
    kpi[2].metric("Average order", money(totals.get("average_order_value")))
    kpi[3].metric("Customers", count(totals.get("customers")))

    per_day = as_rows(stats.get("by_day", []))
    chart_left, chart_right = st.columns(2)
    if per_day:
        x = [str(r.get("day")) for r in per_day]
        fig = px.bar(
            x=x,
            y=[number(r.get("revenue")) for r in per_day],
            labels={"x": "day", "y": f"revenue ({currency()})"},
            title="Revenue per day",
        )
        chart_left.plotly_chart(fig, key="revenue_chart")
        fig = px.line(
            x=x,
            y=[int(number(r.get("orders"))) for r in per_day],
            markers=True,
            labels={"x": "day", "y": "orders"},
            title="Orders per day",
        )
        chart_right.plotly_chart(fig, key="orders_chart")
    else:
        chart_left.info(f"No orders in the last {days} days.")

    by_status = [
        r for r in as_rows(stats.get("by_status", {}), "status", "count") if number(r["count"])
    ]
    top = as_rows(stats.get("top_products_by_revenue", []))
    status_col, top_col = st.columns(2)
    if by_status:
        fig = px.pie(
            names=[order_status(r["status"]) for r in by_status],
            values=[number(r["count"]) for r in by_status],
            title="Orders by status",
            hole=0.4,
        )
        status_col.plotly_chart(fig, key="status_chart")
    if top:
        fig = px.bar(
            x=[number(r.get("revenue")) for r in top],
            y=[chart_label(r.get("name")) for r in top],
            orientation="h",
            labels={"x": f"revenue ({currency()})", "y": ""},
            title="Top products by revenue",
        )
        fig.update_layout(yaxis={"autorange": "reversed"})
        top_col.plotly_chart(fig, key="top_chart")

st.subheader("Low stock")
low = call(api().low_stock, feature="The low-stock list")
if low is not None:
    rows = low["items"] if isinstance(low, dict) and "items" in low else as_rows(low)
    if rows:
        st.dataframe(
            [
                {
                    "Product": r.get("name"),
                    "SKU": r.get("sku"),
                    "Category": r.get("category"),
                    "In stock": count(r.get("stock")),
                }
                for r in rows
            ],
            hide_index=True,
        )
    else:
        st.success("Every product is well stocked.")
