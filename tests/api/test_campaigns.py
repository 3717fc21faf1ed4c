"""Retention campaigns: who is picked, the seeded draw, codes, the outbox, the offer banner."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from paying import pay
from shopping import add_to_cart, bulk_products, checkout, count_rows
from sqlalchemy import select
from support import Account, LambdaClient, make_admin, sign_up

from shop.coltypes import utcnow
from shop.db import session_scope
from shop.errors import Conflict
from shop.models import CampaignAssignment, Coupon, Order, OutboxMessage, User
from shop.services import outbox, retention
from shop.services.retention import Score, control_draw


@pytest.fixture
def admin(client: LambdaClient) -> Account:
    return make_admin(client)


def customers(count: int, *, opted_out: bool = False) -> list[int]:
    """`count` customers inserted straight into the database; their ids."""
    with session_scope() as session:
        users = [
            User(
                email=f"c-{uuid.uuid4().hex[:10]}@example.com",
                full_name=f"Customer {n}",
                password_hash="not-a-hash",
                marketing_opt_out=opted_out,
            )
            for n in range(count)
        ]
        session.add_all(users)
        session.flush()
        return [u.id for u in users]


def new_campaign(**fields: Any) -> int:
    with session_scope() as session:
        body = {
            "name": "Win back",
            "churn_threshold": 0.5,
            "offer_kind": "percent",
            "offer_value": Decimal("10"),
            "control_share": 0.25,
            "seed": 7,
            **fields,
        }
        return retention.create_campaign(session, body).id


def run(campaign_id: int, scores: list[Score]) -> retention.RunSummary:
    with session_scope() as session:
        return retention.run_campaign(session, campaign_id, scores)


def groups_of(campaign_id: int) -> dict[int, str]:
    with session_scope() as session:
        rows = session.execute(
            select(CampaignAssignment.user_id, CampaignAssignment.group).where(
                CampaignAssignment.campaign_id == campaign_id
            )
        ).all()
        return dict(rows)  # type: ignore[arg-type]


def scores_for(ids: list[int], churn: float, spend: str = "50.00") -> list[Score]:
    return [Score(i, churn, Decimal(spend)) for i in ids]


def test_a_run_draws_groups_once_gives_codes_and_queues_one_message_each(db: str) -> None:
    risky, safe = customers(40), customers(10)
    campaign = new_campaign()
    summary = run(campaign, scores_for(risky, 0.8) + scores_for(safe, 0.3))
    assert (summary.scored, summary.eligible) == (50, 40)
    assert summary.offered + summary.held_back == 40
    groups = groups_of(campaign)
    assert set(groups) == set(risky)
    expected = {u: "control" if retention.control_draw(7, u) < 0.25 else "offer" for u in risky}
    assert groups == expected
    assert 0 < summary.held_back < 40  # a quarter held back, give or take the draw
    offered = sorted(u for u, g in groups.items() if g == "offer")
    with session_scope() as session:
        codes = session.execute(select(Coupon.user_id, Coupon.code, Coupon.max_redemptions)).all()
        assert sorted(c.user_id for c in codes) == offered
        assert all(c.code.startswith("COMEBACK-") and c.max_redemptions == 1 for c in codes)
        messages = session.scalars(select(OutboxMessage)).all()
        assert sorted(m.user_id for m in messages) == offered
        by_user = {c.user_id: c.code for c in codes}
        assert all(by_user[m.user_id] in m.body for m in messages)
        assert {m.subject for m in messages} == {"10% off your next order, just for you"}

    again = run(campaign, scores_for(risky + safe, 0.95))  # everyone risky now
    after = groups_of(campaign)
    assert {u: after[u] for u in risky} == groups  # nobody is drawn again
    assert again.offered + again.held_back == 10  # only the ten new ones are drawn
    assert count_rows(OutboxMessage) == len(offered) + again.offered
    assert count_rows(Coupon) == len(offered) + again.offered


def test_spend_floors_pick_only_customers_worth_the_offer(db: str) -> None:
    big, small = customers(3), customers(3)
    # Only money taken and kept counts: small[0]'s 120.00 went back in full, small[1] never
    # paid, and half of small[2]'s came back, leaving 60.00.
    placed = [
        *((user_id, "delivered", "0") for user_id in big),
        (small[0], "refunded", "120.00"),
        (small[1], "awaiting_payment", "0"),
        (small[2], "partially_refunded", "60.00"),
    ]
    with session_scope() as session:
        for user_id, status, refunded in placed:
            session.add(
                Order(
                    user_id=user_id,
                    status=status,
                    subtotal=Decimal("120.00"),
                    total=Decimal("120.00"),
                    refunded_total=Decimal(refunded),
                    item_count=1,
                    shipping_address={},
                )
            )
    by_past = new_campaign(min_past_spend=Decimal("100"))
    assert run(by_past, scores_for(big + small, 0.9)).eligible == 3
    assert set(groups_of(by_past)) == set(big)
    by_forecast = new_campaign(min_predicted_spend=Decimal("40"), name="Forecast")
    scores = scores_for(big, 0.9, "10.00") + scores_for(small, 0.9, "45.00")
    assert run(by_forecast, scores).eligible == 3
    assert set(groups_of(by_forecast)) == set(small)


def test_opted_out_and_recently_contacted_customers_are_left_out(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.settings import get_settings

    keen, shy = customers(12), customers(4, opted_out=True)
    first = new_campaign(control_share=0.01, seed=1)
    summary = run(first, scores_for(keen + shy, 0.9))
    assert (summary.opted_out, summary.offered + summary.held_back) == (4, 12)
    assert not set(shy) & set(groups_of(first))

    second = new_campaign(name="Second", control_share=0.5)
    blocked = run(second, scores_for(keen, 0.9))
    assert (blocked.cooling_down, blocked.offered + blocked.held_back) == (12, 0)
    monkeypatch.setenv("RETENTION_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
    try:
        assert run(second, scores_for(keen, 0.9)).cooling_down == 0
    finally:
        monkeypatch.delenv("RETENTION_COOLDOWN_DAYS")
        get_settings.cache_clear()
    with session_scope() as session:
        per_campaign = session.execute(
            select(OutboxMessage.user_id, OutboxMessage.campaign_id)
        ).all()
    assert len(per_campaign) == len(set(per_campaign))  # never twice for one campaign


def test_a_campaign_that_ended_or_was_switched_off_does_not_run(db: str) -> None:
    ids = customers(2)
    ended = new_campaign(
        starts_at=utcnow() - timedelta(days=40), ends_at=utcnow() - timedelta(days=10)
    )
    with pytest.raises(Conflict, match="outside its dates"):
        run(ended, scores_for(ids, 0.9))
    assert count_rows(CampaignAssignment) == 0
    with session_scope() as session:
        assert retention.running_campaign_ids(session) == []


# --- the outbox ---------------------------------------------------------------------------


def test_the_outbox_skips_customers_who_opted_out_after_the_message_was_queued(
    client: LambdaClient,
) -> None:
    keen, shy = sign_up(client), sign_up(client)
    with session_scope() as session:
        for account in (keen, shy):
            user = session.get(User, account.id)
            assert user is not None
            outbox.queue_message(session, user, "Hello", "An offer")
    reply = client.patch("/users/me", json={"marketing_opt_out": True}, token=shy.access_token)
    assert (reply.status, reply.json()["marketing_opt_out"]) == (200, True)
    with session_scope() as session:
        delivered = outbox.deliver_pending(session)
    assert (delivered.sent, delivered.skipped, delivered.failed) == (1, 1, 0)
    with session_scope() as session:
        status = dict(session.execute(select(OutboxMessage.user_id, OutboxMessage.status)).all())
    assert status == {keen.id: "sent", shy.id: "skipped"}
    assert client.get("/users/me", token=keen.access_token).json()["marketing_opt_out"] is False


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto SES with the shop's verified sender, and SES_FROM_ADDRESS set."""
    import boto3
    from moto import mock_aws

    from shop.settings import get_settings

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SES_FROM_ADDRESS": "offers@shop.example",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    with mock_aws():
        client = boto3.client("sesv2")
        client.create_email_identity(EmailIdentity="offers@shop.example")
        yield client
    monkeypatch.undo()
    get_settings.cache_clear()


def test_messages_go_out_through_ses_when_a_sender_is_configured(
    client: LambdaClient, ses: Any
) -> None:
    account = sign_up(client)
    with session_scope() as session:
        user = session.get(User, account.id)
        assert user is not None
        outbox.queue_message(session, user, "10% off", "Use COMEBACK-TEST")
        session.commit()
        delivered = outbox.deliver_pending(session)
    assert delivered.sent == 1
    with session_scope() as session:
        message = session.scalars(select(OutboxMessage)).one()
        assert (message.status, message.channel) == ("sent", "ses")
        assert message.provider_id


# --- routes -------------------------------------------------------------------------------


class FakeChampion:
    """Scores each user by a fixed table: a stand-in for a trained model's ONNX graph."""

    def __init__(self, version: str, by_user: dict[int, float]) -> None:
        self.version = version
        self.by_user = by_user

    def predict(self, frame: Any) -> Any:
        return np.array([self.by_user.get(int(u), 0.0) for u in frame.user_ids])


def test_admins_run_a_campaign_and_the_customer_sees_and_uses_the_offer(
    client: LambdaClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    (product,) = bulk_products(1, stock=50, price="40.00")
    shoppers = [sign_up(client) for _ in range(6)]
    for shopper in shoppers:  # an order makes them customers the models score
        add_to_cart(client, shopper, product, 1)
        assert checkout(client, shopper).status == 201
    churn = {s.id: 0.9 for s in shoppers}
    models = {
        "churn": FakeChampion("churn-1", churn),
        "spend": FakeChampion("spend-1", {s.id: 60.0 for s in shoppers}),
    }
    import shop.ml.campaign_scores as campaign_scores

    monkeypatch.setattr(campaign_scores.champions, "get", lambda: models)
    token = admin.access_token
    # A seed whose draw puts these shoppers (their ids depend on the tests run before) in both
    # groups, so that the offer and the control side can both be checked.
    seed = next(
        seed for seed in range(1000) if len({control_draw(seed, s.id) < 0.3 for s in shoppers}) == 2
    )
    created = client.post(
        "/ml/campaigns",
        json={
            "name": "Come back",
            "churn_threshold": 0.6,
            "offer_kind": "amount",
            "offer_value": "5.00",
            "days": 30,
            "control_share": 0.3,
            "seed": seed,
        },
        token=token,
    )
    assert created.status == 201, created.body
    campaign = created.json()
    assert campaign["groups"] == {"offer": 0, "control": 0}
    assert client.post("/ml/campaigns/run", token=shoppers[0].access_token).status == 403

    ran = client.post("/ml/campaigns/run", token=token)
    assert ran.status == 200, ran.body
    (summary,) = ran.json()
    assert summary["offered"] + summary["held_back"] == 6
    detail = client.get(f"/ml/campaigns/{campaign['id']}", token=token).json()
    assert detail["groups"] == {"offer": summary["offered"], "control": summary["held_back"]}

    groups = groups_of(campaign["id"])
    lucky = next(s for s in shoppers if groups[s.id] == "offer")
    left_alone = next(s for s in shoppers if groups[s.id] == "control")
    assert client.get("/users/me/offers", token=left_alone.access_token).json() == []
    (banner,) = client.get("/users/me/offers", token=lucky.access_token).json()
    assert banner["code"].startswith("COMEBACK-") and banner["value"] == "5.00"
    assert "5.00 off your next order" in banner["description"]
    mail = client.get("/ml/campaigns/outbox", params={"user_id": lucky.id}, token=token).json()
    assert mail["total"] == 1 and banner["code"] in mail["items"][0]["body"]
    assert mail["items"][0]["status"] == "sent" and mail["items"][0]["channel"] == "local"

    add_to_cart(client, left_alone, product, 1)
    stolen = checkout(client, left_alone, coupon=banner["code"])
    assert (stolen.status, stolen.json()["reason"]) == (422, "not_yours")
    add_to_cart(client, lucky, product, 1)
    used = checkout(client, lucky, coupon=banner["code"])
    assert used.status == 201 and used.json()["total"] == "35.00"
    assert client.get("/users/me/offers", token=lucky.access_token).json() == []
    unpaid = client.get(f"/ml/campaigns/{campaign['id']}/effect", token=token).json()
    assert unpaid["offer"]["ordered_again"] == 0  # not paid yet: not an order again
    assert pay(client, lucky, used.json()["id"]).status == 200

    effect = client.get(f"/ml/campaigns/{campaign['id']}/effect", token=token).json()
    assert effect["offer"]["customers"] == summary["offered"]
    assert effect["offer"]["ordered_again"] == 1 and effect["offer"]["codes_used"] == 1
    assert effect["offer"]["discounts"] == "5.00"
    assert effect["control"]["ordered_again"] == 0
    assert effect["summary"].startswith(f"Of {summary['offered']} customers we offered 5.00 off")
    assert effect["distinguishable"] is False and "not yet distinguishable" in effect["verdict"]

    again = client.post("/ml/campaigns/run", token=token).json()
    assert again[0]["offered"] + again[0]["held_back"] == 0  # nobody is drawn twice
    off = client.patch(f"/ml/campaigns/{campaign['id']}", json={"is_active": False}, token=token)
    assert off.status == 200 and off.json()["is_active"] is False
    assert client.post("/ml/campaigns/run", token=token).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"churn_threshold": 1.5}, "churn_threshold"),
        ({"offer_kind": "percent", "offer_value": "150"}, "offer_value"),
        ({"control_share": 0}, "control_share"),
        ({"control_share": 1}, "control_share"),
        ({"days": 10, "ends_at": "2030-01-01T00:00:00Z"}, "days"),
        ({"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, "ends_at"),
        ({"code_prefix": "NO SPACES"}, "code_prefix"),
    ],
)
def test_bad_campaigns_are_refused_with_the_field(
    client: LambdaClient, admin: Account, body: dict[str, Any], field: str
) -> None:
    base = {"name": "X", "churn_threshold": 0.5, "offer_kind": "amount", "offer_value": "5"}
    reply = client.post("/ml/campaigns", json={**base, **body}, token=admin.access_token)
    assert reply.status == 422, reply.body
    assert field in {str(part) for error in reply.json()["errors"] for part in error["loc"]}
    assert client.get("/ml/campaigns", token=admin.access_token).json()["total"] == 0


def test_unknown_campaigns_are_404(client: LambdaClient, admin: Account) -> None:
    token = admin.access_token
    assert client.get("/ml/campaigns/999", token=token).status == 404
    assert client.get("/ml/campaigns/999/effect", token=token).status == 404
    assert client.patch("/ml/campaigns/999", json={"name": "x"}, token=token).status == 404


def test_the_cli_prints_the_outbox_and_sends_what_waits(
    client: LambdaClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from shopfn.cli import main

    assert main(["outbox"]) == 0
    assert "the outbox is empty" in capsys.readouterr().out
    account = sign_up(client)
    with session_scope() as session:
        user = session.get(User, account.id)
        assert user is not None
        outbox.queue_message(session, user, "10% off", "Use the code COMEBACK-ABCD2345.")
    assert main(["outbox", "--send", "--full"]) == 0
    printed = capsys.readouterr().out
    assert "sent 1, skipped 0 (opted out), failed 0" in printed
    assert f"to {account.email}  [sent]" in printed and "COMEBACK-ABCD2345" in printed
    with pytest.raises(SystemExit):
        main(["outbox", "--limit", "0"])
