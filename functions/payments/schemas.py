"""Request and response bodies of the payments function."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shop.http.schemas import MoneyIn, MoneyOut, RequestBody, Response, SafeStr


class WebhookOut(Response):
    received: bool = True
    event_id: str
    event_type: str
    outcome: Literal["applied", "unchanged", "ignored", "refused", "refunded"]
    duplicate: bool


class TestCardOut(Response):
    number: str
    outcome: str


class PaymentConfigOut(Response):
    provider: Literal["stripe", "test_mode"]
    test_mode: bool
    publishable_key: str | None
    currency: str
    hold_minutes: int
    test_cards: list[TestCardOut]


class RefundOut(Response):
    id: int
    order_id: int
    provider_refund_id: str
    amount: MoneyOut
    reason: str
    actor_kind: str
    actor_id: int | None
    created_at: datetime


class PaymentStateOut(Response):
    order_id: int
    status: str
    amount: MoneyOut
    currency: str | None
    provider: str | None
    test_mode: bool
    payment_intent_id: str | None
    intent_status: str | None
    client_secret: str | None
    publishable_key: str | None
    hold_until: datetime | None
    paid_at: datetime | None
    refunded_total: MoneyOut
    payment_error: str | None
    payment_issue: str | None
    refunds: list[RefundOut]


class TestCardIn(RequestBody):
    card_number: Annotated[SafeStr, Field(min_length=1, max_length=40)]


class TestAuthenticationIn(RequestBody):
    approve: bool


class RefundIn(RequestBody):
    amount: MoneyIn | None = Field(default=None, description="Omit to refund all that is left")
    reason: Annotated[SafeStr, Field(min_length=1, max_length=200)] = "refund by an admin"


class RefundDoneOut(Response):
    refund: RefundOut
    order_status: str
    refunded_total: MoneyOut


class OrderIssueOut(Response):
    id: int
    user_id: int
    status: str
    total: MoneyOut
    currency: str | None
    payment_intent_id: str | None
    payment_issue: str | None
    updated_at: datetime
