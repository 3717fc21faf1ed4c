"""The nightly schedule: training, then every running campaign on the new champions."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from support import LambdaClient
from test_retrain_api import SCHEDULED_EVENT, _context, _retrain_handler, _runs, _simulate

from shop.db import session_scope
from shop.models import CampaignAssignment, OutboxMessage
from shop.services import retention
from shopfn.job_report import describe_retrain


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_nightly_run_trains_then_runs_campaigns_on_the_champions(
    client: LambdaClient, model_bucket: str
) -> None:
    _simulate()
    with session_scope() as session:
        campaign = retention.create_campaign(
            session,
            {
                "name": "Nightly",
                "churn_threshold": 0.0,  # everyone the models score: the run must reach them
                "offer_kind": "percent",
                "offer_value": Decimal("10"),
                "seed": 5,
            },
        ).id
    result = _retrain_handler()(dict(SCHEDULED_EVENT), _context())
    assert _runs()[-1][:2] == ("schedule", "succeeded")
    assert result["campaigns"] == 1
    with session_scope() as session:
        groups = dict(
            session.execute(
                select(CampaignAssignment.group, func.count())
                .where(CampaignAssignment.campaign_id == campaign)
                .group_by(CampaignAssignment.group)
            ).all()
        )
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert groups["offer"] > groups["control"] > 0
    assert statuses == {"sent"}
    # `shopfn serve`'s console: the run's outcome and the offers, in one line
    assert (result["status"], result["promoted"], result["offered"]) == (
        "succeeded",
        True,
        groups["offer"],
    )
    assert describe_retrain(result) == (
        logging.INFO,
        "Nightly retrain finished: new models in use. Retention campaigns offered a coupon to "
        f"{groups['offer']} customers (see the outbox).",
    )
