"""The ML page's campaigns: offers for customers at risk, and what they changed, in plain words."""

from __future__ import annotations

from typing import Any

import streamlit as st

from shopui import formatting as fmt
from shopui.client import ApiError, NotAvailable
from shopui.plaintext import literal
from shopui.session import api, call, show_error


def _offer(campaign: dict[str, Any]) -> str:
    if campaign["offer_kind"] == "percent":
        return f"{float(campaign['offer_value']):g}% off"
    return f"{fmt.money(campaign['offer_value'])} off"


def _effect(campaign: dict[str, Any]) -> None:
    effect = call(api().campaign_effect, campaign["id"], feature="The campaign's effect")
    if effect is None:
        return
    st.markdown(literal(effect["summary"]))
    st.markdown(literal(effect["verdict"]))
    if effect.get("revenue_sentence"):
        st.markdown(literal(effect["revenue_sentence"]))
    offer, control = effect["offer"], effect["control"]
    st.dataframe(
        [
            {
                "Group": name,
                "Customers": fmt.count(group["customers"]),
                "Ordered again in 30 days": fmt.count(group["ordered_again"]),
                "Share": fmt.percent(group["share_ordered_again"]),
                "Revenue per customer": fmt.money(group["revenue_per_customer"])
                if group["revenue_per_customer"] is not None
                else "-",
                "Codes used": fmt.count(group["codes_used"]),
                "Discounts given": fmt.money(group["discounts"]),
            }
            for name, group in (("Offered", offer), ("Left alone", control))
        ],
        hide_index=True,
    )


def campaign_section() -> None:
    """List campaigns with their measured effect; start one; run them now."""
    st.subheader("Offers for customers at risk")
    st.caption(
        "A campaign sends a personal discount code to customers the model says may leave, and "
        "leaves a random few alone, so you can see what the offer really changed: both groups "
        "are compared on their orders only. Campaigns run after each nightly training."
    )
    try:
        page = api().campaigns(page_size=20)
    except NotAvailable:
        st.info("Campaigns are not available on this shop yet.")
        return
    except ApiError as exc:  # said in words; the rest of the page still shows
        show_error(exc, feature="Campaigns")
        return
    for campaign in page["items"]:
        state = "running" if campaign["is_active"] else "switched off"
        with st.expander(
            f"{literal(campaign['name'])}: {_offer(campaign)}, {state}, "
            f"until {fmt.when(campaign['ends_at'])}",
            expanded=campaign is page["items"][0],
        ):
            _effect(campaign)
    if st.button("Run campaigns now", key="campaigns_run"):
        ran = call(api().run_campaigns, feature="The campaign run")
        if ran is not None:
            offered = sum(r["offered"] for r in ran)
            held = sum(r["held_back"] for r in ran)
            st.success(
                f"{fmt.plural(offered, 'customer')} got an offer, "
                f"{fmt.plural(held, 'customer')} left alone for comparison."
            )
    with st.form("new_campaign"):
        st.markdown("**Start a campaign**")
        name = st.text_input("Name", value="Win back")
        threshold = st.slider("Customers with a chance of leaving of at least (%)", 0, 100, 60)
        kind_col, value_col, days_col = st.columns(3)
        kind = kind_col.radio(
            "Offer",
            ["percent", "amount"],
            horizontal=True,
            format_func=lambda k: "% off" if k == "percent" else "money off",
        )
        value = value_col.text_input("How much off", value="10")
        days = days_col.number_input("Runs for (days)", min_value=1, max_value=365, value=30)
        control = st.slider("Left alone for comparison (%)", 5, 50, 20)
        if st.form_submit_button("Start campaign", type="primary"):
            made = call(
                api().create_campaign,
                {
                    "name": name.strip(),
                    "churn_threshold": threshold / 100,
                    "offer_kind": kind,
                    "offer_value": value.strip(),
                    "days": int(days),
                    "control_share": control / 100,
                },
                feature="The new campaign",
                hint="Fix it and try again.",
            )
            if made is not None:
                st.success(f"Campaign {literal(made['name'])} starts with the next run.")
