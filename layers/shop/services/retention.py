"""Retention campaigns: offer a personal code to customers the churn model flags, hold some back.

Each run takes the champion's scores (computed by the caller, which owns the models), picks
the customers the campaign is for, and gives each one not seen before a group by a seeded
draw: the control share is held back, the rest get a personal code and a message through the
outbox. A group is one row, unique per campaign and customer, so nobody is drawn twice, and
the draw depends only on the campaign's seed and the customer: re-running gives the same
groups. Who to hold back never depends on the scores, so the groups differ only by the offer.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import Conflict, InvalidInput, NotFound
from shop.ml.paid import kept_money
from shop.models import CampaignAssignment, Order, OutboxMessage, RetentionCampaign, User
from shop.pagination import PageRequest, PageResult, paginate
from shop.services import coupons, outbox
from shop.settings import get_settings


@dataclass(frozen=True)
class Score:
    """What the churn and spend champions say about one customer now."""

    user_id: int
    churn_probability: float
    predicted_spend_30d: Decimal


@dataclass(frozen=True)
class RunSummary:
    campaign_id: int
    #: Customers the models scored, those the campaign is for, and those new to it.
    scored: int
    eligible: int
    offered: int
    held_back: int
    #: Eligible but left for a later run: messaged or in a campaign within the cool-down.
    cooling_down: int
    #: Eligible but never contacted: they opted out of offers.
    opted_out: int


def control_draw(seed: int, user_id: int) -> float:
    """The customer's uniform draw in [0, 1) for a campaign seed: same inputs, same draw."""
    digest = hashlib.sha256(f"{seed}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# --- admin ---------------------------------------------------------------------------------


def _validate(fields: dict[str, Any]) -> None:
    if fields["offer_kind"] == "percent" and fields["offer_value"] > 100:
        raise InvalidInput(
            "A percent-off offer takes at most 100% off.", loc=["body", "offer_value"]
        )
    if fields["ends_at"] <= fields["starts_at"]:
        raise InvalidInput("The campaign must end after it starts.", loc=["body", "ends_at"])


def create_campaign(session: Session, fields: dict[str, Any]) -> RetentionCampaign:
    """A new campaign; it runs from `starts_at` (now if not given) for `days` or to `ends_at`."""
    fields = {k: v for k, v in fields.items() if v is not None}
    fields.setdefault("starts_at", utcnow())
    days = fields.pop("days", None)
    if "ends_at" not in fields:
        fields["ends_at"] = fields["starts_at"] + timedelta(days=days or 30)
    fields["code_prefix"] = fields.get("code_prefix", "COMEBACK").upper()
    fields.setdefault("seed", secrets.randbelow(2**31))
    _validate(fields)
    campaign = RetentionCampaign(**fields)
    session.add(campaign)
    session.commit()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> RetentionCampaign:
    campaign = session.get(RetentionCampaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def list_campaigns(session: Session, page: PageRequest) -> PageResult[RetentionCampaign]:
    return paginate(session, select(RetentionCampaign).order_by(RetentionCampaign.id.desc()), page)


def update_campaign(
    session: Session, campaign_id: int, changes: dict[str, Any]
) -> RetentionCampaign:
    """The campaign after changes that leave its groups fair: name, end, active flag.

    Who is eligible, the offer and the control share are fixed once it started: changing
    them mid-way would mix two experiments in one measurement.
    """
    campaign = get_campaign(session, campaign_id)
    merged = {
        "offer_kind": campaign.offer_kind,
        "offer_value": campaign.offer_value,
        "starts_at": campaign.starts_at,
        "ends_at": changes.get("ends_at", campaign.ends_at),
    }
    _validate(merged)
    for name, value in changes.items():
        setattr(campaign, name, value)
    session.commit()
    return get_campaign(session, campaign_id)


def group_counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(CampaignAssignment.group, func.count())
        .where(CampaignAssignment.campaign_id == campaign_id)
        .group_by(CampaignAssignment.group)
    ).all()
    return {"offer": 0, "control": 0, **{group: int(n) for group, n in rows}}


# --- runs ----------------------------------------------------------------------------------


def _eligible(
    session: Session, campaign: RetentionCampaign, scores: Sequence[Score]
) -> list[Score]:
    """The scored customers the campaign is for (threshold, spends), highest risk first."""
    picked = [
        s
        for s in scores
        if s.churn_probability >= campaign.churn_threshold
        and (
            campaign.min_predicted_spend is None
            or s.predicted_spend_30d >= campaign.min_predicted_spend
        )
    ]
    if campaign.min_past_spend is not None and picked:
        ids = [s.user_id for s in picked]
        spent = dict(
            session.execute(
                select(Order.user_id, func.sum(Order.total - Order.refunded_total))
                .where(Order.user_id.in_(ids), kept_money(Order.__table__))
                .group_by(Order.user_id)
            ).all()
        )
        floor = campaign.min_past_spend
        picked = [s for s in picked if Decimal(str(spent.get(s.user_id) or 0)) >= floor]
    return sorted(picked, key=lambda s: (-s.churn_probability, s.user_id))


def _recently_contacted(
    session: Session, campaign_id: int, user_ids: list[int], since: datetime
) -> set[int]:
    """Customers messaged, or put in another campaign, since `since`."""
    messaged = select(OutboxMessage.user_id).where(
        OutboxMessage.user_id.in_(user_ids),
        OutboxMessage.campaign_id.is_not(None),
        OutboxMessage.status != "skipped",
        OutboxMessage.created_at >= since,
    )
    assigned = select(CampaignAssignment.user_id).where(
        CampaignAssignment.user_id.in_(user_ids),
        CampaignAssignment.campaign_id != campaign_id,
        CampaignAssignment.assigned_at >= since,
    )
    return set(session.scalars(messaged)) | set(session.scalars(assigned))


def _offer_message(campaign: RetentionCampaign, user: User, coupon: Any) -> tuple[str, str]:
    offer = coupons.describe_offer(campaign.offer_kind, campaign.offer_value)
    minimum = (
        f" on an order of {campaign.offer_min_order:.2f} or more"
        if campaign.offer_min_order is not None
        else ""
    )
    subject = f"{offer} your next order, just for you"
    body = (
        f"Hello {user.full_name},\n\n"
        f"We miss you. Here is {offer} your next order{minimum}: use the code {coupon.code} "
        f"at checkout before {coupon.ends_at:%d %B %Y}.\n\n"
        "You get this because you shop with us. To stop offers like this one, switch them "
        "off on your account page.\n"
    )
    return subject, body


def run_campaign(
    session: Session, campaign_id: int, scores: Sequence[Score], *, now: datetime | None = None
) -> RunSummary:
    """Assign the campaign's new eligible customers, issue their codes, queue their messages.

    The campaign row is locked for the run, so two runs at once take turns and the second
    finds the customers already assigned. Conflict when the campaign is not running now.
    """
    now = now or utcnow()
    campaign = session.scalar(
        select(RetentionCampaign)
        .where(RetentionCampaign.id == campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if campaign is None:
        raise NotFound("No such campaign.")
    if not campaign.is_active or not campaign.starts_at <= now < campaign.ends_at:
        session.rollback()
        raise Conflict(
            f"The campaign {campaign.name!r} is not running now "
            f"({'switched off' if not campaign.is_active else 'outside its dates'})."
        )
    eligible = _eligible(session, campaign, scores)
    ids = [s.user_id for s in eligible]
    seen = set(
        session.scalars(
            select(CampaignAssignment.user_id).where(
                CampaignAssignment.campaign_id == campaign.id,
                CampaignAssignment.user_id.in_(ids),
            )
        )
    )
    fresh = [s for s in eligible if s.user_id not in seen]
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(
                User.id.in_([s.user_id for s in fresh]),
                User.is_active.is_(True),
                User.role == "customer",
            )
        )
    }
    cooldown = get_settings().retention_cooldown_days
    busy = _recently_contacted(session, campaign.id, list(users), now - timedelta(days=cooldown))
    counts = {"offer": 0, "control": 0, "busy": 0, "opted_out": 0}
    for score in fresh:
        user = users.get(score.user_id)
        if user is None:
            continue
        if user.marketing_opt_out:
            counts["opted_out"] += 1
            continue
        if user.id in busy:
            counts["busy"] += 1
            continue
        group = (
            "control" if control_draw(campaign.seed, user.id) < campaign.control_share else "offer"
        )
        assignment = CampaignAssignment(
            campaign_id=campaign.id,
            user_id=user.id,
            group=group,
            assigned_at=now,
            churn_probability=score.churn_probability,
        )
        if group == "offer":
            coupon = coupons.issue_personal_coupon(
                session,
                user_id=user.id,
                kind=campaign.offer_kind,
                value=campaign.offer_value,
                min_order=campaign.offer_min_order,
                valid_from=now,
                valid_until=now + timedelta(days=campaign.offer_days),
                prefix=campaign.code_prefix,
            )
            session.flush()
            assignment.coupon_id = coupon.id
            subject, body = _offer_message(campaign, user, coupon)
            outbox.queue_message(session, user, subject, body, campaign_id=campaign.id)
        session.add(assignment)
        counts[group] += 1
    campaign.last_run_at = now
    session.commit()
    return RunSummary(
        campaign_id=campaign.id,
        scored=len(scores),
        eligible=len(eligible),
        offered=counts["offer"],
        held_back=counts["control"],
        cooling_down=counts["busy"],
        opted_out=counts["opted_out"],
    )


def running_campaign_ids(session: Session, now: datetime | None = None) -> list[int]:
    """Campaigns switched on whose dates include `now`, oldest first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(RetentionCampaign.id)
            .where(
                RetentionCampaign.is_active.is_(True),
                RetentionCampaign.starts_at <= now,
                RetentionCampaign.ends_at > now,
            )
            .order_by(RetentionCampaign.id)
        )
    )


def run_all(
    session: Session, scores: Sequence[Score], *, now: datetime | None = None
) -> list[RunSummary]:
    """Run every running campaign on the same scores, then send what they queued."""
    summaries = [
        run_campaign(session, campaign_id, scores, now=now)
        for campaign_id in running_campaign_ids(session, now)
    ]
    outbox.deliver_pending(session)
    return summaries
