"""The measurement is tested on simulated customers whose response to the offer is known."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from shop.coltypes import utcnow
from shop.db import session_scope
from shop.models import User
from shop.services import campaign_effect, retention
from shop.services.retention import Score
from shop.services.seed import seed_catalog

CUSTOMERS = 800


def campaign_with_customers(name: str, seed: int) -> int:
    """A campaign that picked CUSTOMERS new customers 40 days ago (30% held back)."""
    start = utcnow() - timedelta(days=40)
    tag = secrets.token_hex(3)
    with session_scope() as session:
        seed_catalog(session)
        session.execute(
            insert(User),
            [
                {"email": f"o-{tag}-{i}@example.com", "full_name": "S", "password_hash": "x"}
                for i in range(CUSTOMERS)
            ],
        )
        ids = session.scalars(select(User.id).where(User.email.like(f"o-{tag}-%"))).all()
        campaign = retention.create_campaign(
            session,
            {
                "name": name,
                "churn_threshold": 0.5,
                "offer_kind": "percent",
                "offer_value": Decimal("10"),
                "starts_at": start,
                "days": 60,
                "control_share": 0.3,
                "seed": seed,
            },
        ).id
        scores = [Score(i, 0.8, Decimal("40.00")) for i in ids]
        summary = retention.run_campaign(session, campaign, scores, now=start)
    assert summary.offered + summary.held_back == CUSTOMERS
    return campaign


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("true_effect", [0.12, 0.0])
def test_the_measured_uplift_recovers_the_true_effect_within_its_interval(
    db: str, true_effect: float
) -> None:
    from shopfn.simulate_offers import respond_to_campaign

    campaign = campaign_with_customers(f"effect {true_effect}", seed=3)
    with session_scope() as session:
        done = respond_to_campaign(session, campaign, true_effect=true_effect, seed=11)
    assert done.codes_used > 0
    with session_scope() as session:
        effect = campaign_effect.measure(session, campaign)
    difference = effect["difference"]
    assert difference["low"] <= true_effect <= difference["high"], difference
    assert effect["distinguishable"] is (true_effect > 0)
    assert effect["offer"]["customers"] + effect["control"]["customers"] == CUSTOMERS
    assert effect["offer"]["still_open"] == 0  # every 30-day window has closed
    if true_effect:
        assert "more customers order again" in effect["verdict"]
        assert effect["revenue_per_customer_difference"] > 0
    else:
        assert "not yet distinguishable from zero" in effect["verdict"]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_cli_writes_responses_for_a_campaign(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from shopfn.cli import main

    campaign = campaign_with_customers("cli", seed=4)
    code = main(
        ["simulate", "--respond-to-campaign", str(campaign), "--offer-effect", "0.2", "--seed", "1"]
    )
    assert code == 0
    assert "ordered again" in capsys.readouterr().out
    with session_scope() as session:
        effect = campaign_effect.measure(session, campaign)
    assert effect["offer"]["ordered_again"] > effect["control"]["ordered_again"] > 0
    bad = main(["simulate", "--respond-to-campaign", str(campaign), "--offer-effect", "0.95"])
    assert bad == 2
