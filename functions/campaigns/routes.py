"""Routes of the campaigns function (admins only): campaigns, runs, effect, outbox.

A run scores customers with the same champions the predict function serves.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from shop.errors import InvalidInput
from shop.http.deps import AdminUser, IdPath, PageDep, SessionDep
from shop.http.schemas import Page

from .schemas import (
    CampaignDetailOut,
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    EffectOut,
    OutboxMessageOut,
    RunSummaryOut,
)

#: The campaign and outbox services (and the coupon service and models they need) are imported
#: by the routes that use them, so a cold start answering a health check never loads them.
router = APIRouter(tags=["campaigns"])


def _detail(session: Any, campaign: Any) -> dict[str, Any]:
    from shop.services import retention

    out = CampaignOut.model_validate(campaign).model_dump()
    return {**out, "groups": retention.group_counts(session, campaign.id)}


@router.get("", response_model=Page[CampaignOut])
def list_campaigns(_admin: AdminUser, session: SessionDep, page: PageDep) -> Any:
    """Campaigns, newest first."""
    from shop.services import retention

    return retention.list_campaigns(session, page)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CampaignDetailOut)
def create_campaign(
    body: CampaignIn, _admin: AdminUser, session: SessionDep, response: Response
) -> Any:
    """Create a campaign; its first customers are picked on the next run."""
    from shop.services import retention

    if body.ends_at is not None and body.days is not None:
        raise InvalidInput("Give ends_at or days, not both.", loc=["body", "days"])
    campaign = retention.create_campaign(session, body.model_dump())
    response.headers["Location"] = f"/ml/campaigns/{campaign.id}"
    return _detail(session, campaign)


# Declared before /{campaign_id}: "run" and "outbox" are not ids.
@router.post("/run", response_model=list[RunSummaryOut])
def run_campaigns(_admin: AdminUser, session: SessionDep) -> Any:
    """Run every running campaign now on the champions' scores, then send the messages."""
    from shop.ml.campaign_scores import run_campaigns as run_now

    return run_now(session)


@router.get("/outbox", response_model=Page[OutboxMessageOut])
def list_outbox(
    _admin: AdminUser,
    session: SessionDep,
    page: PageDep,
    user_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Any:
    """Messages to customers, newest first: sent, skipped (opted out), failed or waiting."""
    from shop.services import outbox

    return outbox.list_messages(session, page, user_id=user_id, campaign_id=campaign_id)


@router.get("/{campaign_id}", response_model=CampaignDetailOut)
def get_campaign(campaign_id: IdPath, _admin: AdminUser, session: SessionDep) -> Any:
    """One campaign with how many customers are in each group."""
    from shop.services import retention

    return _detail(session, retention.get_campaign(session, campaign_id))


@router.patch("/{campaign_id}", response_model=CampaignDetailOut)
def update_campaign(
    campaign_id: IdPath, body: CampaignPatch, _admin: AdminUser, session: SessionDep
) -> Any:
    """Rename, move the end, or switch a campaign off or on."""
    from shop.services import retention

    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise InvalidInput(f"{name} cannot be null.", loc=["body", name])
    return _detail(session, retention.update_campaign(session, campaign_id, changes))


@router.get("/{campaign_id}/effect", response_model=EffectOut)
def campaign_effect(campaign_id: IdPath, _admin: AdminUser, session: SessionDep) -> Any:
    """Offer against control: who ordered again within 30 days, and revenue per customer."""
    from shop.services import campaign_effect

    return campaign_effect.measure(session, campaign_id)
