"""Routes of the payments function: the webhook, payment state, test mode and refunds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response, status

from shop.http.deps import AdminUser, CurrentUser, IdPath, PageDep, SessionDep
from shop.http.schemas import Page
from shop.tokens import Principal

from .schemas import (
    OrderIssueOut,
    PaymentConfigOut,
    PaymentStateOut,
    RefundDoneOut,
    RefundIn,
    TestAuthenticationIn,
    TestCardIn,
    WebhookOut,
)

if TYPE_CHECKING:
    from shop.services.orders import Viewer

#: The payment services (and the order service and payment provider they need) are imported
#: by the routes that use them, so a cold start answering a health check never loads them.
router = APIRouter(tags=["payments"])


def _viewer(principal: Principal) -> Viewer:
    from shop.services.orders import Viewer

    return Viewer(user_id=principal.user_id, is_admin=principal.is_admin)


@router.post("/webhook", response_model=WebhookOut)
async def webhook(
    request: Request,
    session: SessionDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> Any:
    """The payment provider's events, verified by their Stripe-Signature (400 if it fails)."""
    from shop.services import payment_events

    payload = await request.body()
    return payment_events.handle_webhook(session, payload, stripe_signature)


@router.get("/config", response_model=PaymentConfigOut)
def config() -> Any:
    """How this shop takes payment: Stripe (publishable key) or the test mode (test cards)."""
    from shop.services import payment_state

    return payment_state.payment_config()


@router.get("/orders/{order_id}", response_model=PaymentStateOut)
def order_payment(order_id: IdPath, principal: CurrentUser, session: SessionDep) -> Any:
    """An order's payment (owner or admin); the client secret only for the owner, unpaid."""
    from shop.services import payment_state

    return payment_state.payment_state(session, order_id, _viewer(principal))


@router.post("/orders/{order_id}/test-card", response_model=PaymentStateOut)
def pay_with_test_card(
    order_id: IdPath, body: TestCardIn, principal: CurrentUser, session: SessionDep
) -> Any:
    """Test mode only: pay the caller's order with one of Stripe's test card numbers."""
    from shop.services import payment_state

    return payment_state.pay_with_test_card(session, order_id, _viewer(principal), body.card_number)


@router.post("/orders/{order_id}/test-authentication", response_model=PaymentStateOut)
def answer_test_authentication(
    order_id: IdPath, body: TestAuthenticationIn, principal: CurrentUser, session: SessionDep
) -> Any:
    """Test mode only: approve or fail the bank's check a 4000 0025 0000 3155 card asks for."""
    from shop.services import payment_state

    return payment_state.authenticate_test_payment(
        session, order_id, _viewer(principal), approve=body.approve
    )


@router.post("/orders/{order_id}/refunds", status_code=201, response_model=RefundDoneOut)
def refund(
    order_id: IdPath,
    body: RefundIn,
    admin: AdminUser,
    session: SessionDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="1..255 characters; retries reuse it."),
    ] = None,
) -> Any:
    """Refund part of a paid order, or all that is left (admins); once per Idempotency-Key."""
    from shop.services import payment_state, payments

    if idempotency_key is None or not idempotency_key.strip():
        raise HTTPException(400, "The Idempotency-Key header is required for a refund.")
    if len(idempotency_key) > 255 or not idempotency_key.isprintable():
        raise HTTPException(400, "The Idempotency-Key header must be 1..255 printable characters.")
    done = payments.refund_order(
        session,
        order_id,
        amount=body.amount,
        admin_id=admin.user_id,
        request_key=idempotency_key,
        reason=body.reason,
    )
    if done.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    order = payment_state.payment_state(session, order_id, _viewer(admin))
    return {
        "refund": done.refund,
        "order_status": order.status,
        "refunded_total": order.refunded_total,
    }


@router.get("/issues", response_model=Page[OrderIssueOut])
def issues(_admin: AdminUser, session: SessionDep, page: PageDep) -> Any:
    """Orders whose payment needs an admin: amount mismatches, late payments refunded."""
    from shop.services import payment_state

    return payment_state.orders_needing_attention(session, page)
