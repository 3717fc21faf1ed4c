"""Request and response bodies of the retention campaign and outbox routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from shop.http.schemas import MoneyIn, MoneyOut, RequestBody, Response, SafeStr

Name = Annotated[SafeStr, Field(min_length=1, max_length=120)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class CampaignIn(RequestBody):
    name: Name
    churn_threshold: Probability
    min_predicted_spend: MoneyIn | None = None
    min_past_spend: MoneyIn | None = None
    offer_kind: Literal["percent", "amount"]
    offer_value: MoneyIn
    offer_min_order: MoneyIn | None = None
    offer_days: Annotated[int, Field(strict=True, ge=1, le=365)] = 14
    code_prefix: Annotated[
        SafeStr, Field(min_length=2, max_length=20, pattern=r"^[A-Za-z0-9]+$")
    ] = "COMEBACK"
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    days: Annotated[int, Field(strict=True, ge=1, le=3650)] | None = None
    control_share: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.2
    seed: Annotated[int, Field(strict=True, ge=0, le=2_147_483_647)] | None = None


class CampaignPatch(RequestBody):
    name: Name | None = None
    ends_at: AwareDatetime | None = None
    is_active: bool | None = None


class CampaignOut(Response):
    id: int
    name: str
    churn_threshold: float
    min_predicted_spend: MoneyOut | None
    min_past_spend: MoneyOut | None
    offer_kind: str
    offer_value: MoneyOut
    offer_min_order: MoneyOut | None
    offer_days: int
    code_prefix: str
    starts_at: datetime
    ends_at: datetime
    control_share: float
    seed: int
    is_active: bool
    last_run_at: datetime | None
    created_at: datetime


class CampaignDetailOut(CampaignOut):
    groups: dict[str, int]


class RunSummaryOut(Response):
    campaign_id: int
    scored: int
    eligible: int
    offered: int
    held_back: int
    cooling_down: int
    opted_out: int


class GroupOut(Response):
    customers: int
    ordered_again: int
    share_ordered_again: float | None
    revenue: MoneyOut
    revenue_per_customer: MoneyOut | None
    discounts: MoneyOut
    codes_used: int
    still_open: int


class DifferenceOut(Response):
    share: float
    low: float
    high: float


class EffectOut(Response):
    campaign_id: int
    name: str
    window_days: int
    offer: GroupOut
    control: GroupOut
    difference: DifferenceOut | None
    distinguishable: bool
    revenue_per_customer_difference: MoneyOut | None
    summary: str
    verdict: str
    revenue_sentence: str | None


class OutboxMessageOut(Response):
    id: int
    user_id: int
    campaign_id: int | None
    to_address: str
    subject: str
    body: str
    status: str
    channel: str | None
    error: str | None
    created_at: datetime
    sent_at: datetime | None
