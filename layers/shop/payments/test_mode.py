"""The test mode: a stand-in for Stripe when no Stripe key is set (`make up`, demos, tests).

Its PaymentIntents live in the shop's database (`test_mode_intents`) and behave as Stripe's
do for Stripe's documented test cards. A confirmed card produces the event Stripe would
send, signed the way Stripe signs it, and handed to the same webhook code that handles
Stripe's (`shop.services.payment_events`). No money moves, ever.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.models import TestModeIntent
from shop.payments.provider import Intent, ProviderRefused, ProviderUnavailable, Refund
from shop.payments.signing import signature_header
from shop.settings import get_settings

SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"
NEEDS_AUTHENTICATION = "4000002500003155"


@dataclass(frozen=True)
class TestCard:
    number: str
    outcome: str  # what the card does, in plain words

    __test__ = False  # not a pytest class


#: Stripe's documented test cards the test mode takes; every other number is refused.
TEST_CARDS: tuple[TestCard, ...] = (
    TestCard(SUCCEEDS, "the payment succeeds"),
    TestCard(DECLINED, "the card is declined"),
    TestCard(NEEDS_AUTHENTICATION, "the bank asks the shopper to confirm the payment"),
)
DECLINE_MESSAGE = "Your card was declined."
AUTHENTICATION_FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment "
    "method and try again."
)
#: Statuses in which Stripe lets an intent be confirmed or cancelled.
OPEN_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")
_secret_lock = threading.Lock()


def _intent(row: TestModeIntent | Row[Any]) -> Intent:
    return Intent(
        id=row.id,
        status=row.status,
        amount=row.amount,
        currency=row.currency,
        client_secret=row.client_secret,
        metadata={"order_id": str(row.order_id)} if row.order_id is not None else {},
    )


class TestModeProvider:
    """The provider interface over `test_mode_intents`, inside the caller's transaction."""

    __test__ = False  # not a pytest class
    name = "test_mode"
    test_mode = True
    publishable_key: str | None = None

    def __init__(self, session: Session) -> None:
        self.session = session

    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        existing = self._by_key(idempotency_key)
        if existing is not None:
            return _intent(existing)
        intent_id = f"pi_test_{uuid.uuid4().hex[:24]}"
        row = TestModeIntent(
            id=intent_id,
            idempotency_key=idempotency_key,
            order_id=int(metadata["order_id"]) if "order_id" in metadata else None,
            amount=amount,
            currency=currency.lower(),
            status="requires_payment_method",
            client_secret=f"{intent_id}_secret_{secrets.token_hex(12)}",
            refunded=0,
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:  # a concurrent request with the same key made it first
            # A locking read: under MariaDB's repeatable read a plain one reads this
            # transaction's snapshot, taken before the other request's row was committed.
            made = self._by_key(idempotency_key, latest=True)
            if made is None:
                raise ProviderUnavailable("the test-mode intent could not be read back") from None
            return _intent(made)
        return _intent(row)

    def retrieve_intent(self, intent_id: str) -> Intent:
        return _intent(self._row(intent_id))

    def cancel_intent(self, intent_id: str) -> Intent:
        intents: Any = TestModeIntent.__table__  # Core: no ORM load on expiry's hot path
        cancel = (
            update(intents)
            .where(intents.c.id == intent_id, intents.c.status.in_(OPEN_STATUSES))
            .values(status="canceled")
        )
        if self.session.get_bind().dialect.update_returning:  # one round trip, not two
            canceled = self.session.execute(cancel.returning(*intents.c)).first()
            if canceled is not None:
                return _intent(canceled)
        elif self.session.execute(cancel).rowcount == 1:  # type: ignore[attr-defined]
            return _intent(self._row(intent_id))
        row = self._row(intent_id)
        raise ProviderRefused(
            f"You cannot cancel this PaymentIntent because it has a status of {row.status}.",
            code="payment_intent_unexpected_state",
            state=row.status,
        )

    def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> Refund:
        row = self._row(intent_id)
        if row.status != "succeeded":
            raise ProviderRefused("This PaymentIntent has no successful payment to refund.")
        changed = self.session.execute(
            update(TestModeIntent)
            .where(TestModeIntent.id == intent_id, TestModeIntent.refunded + amount <= row.amount)
            .values(refunded=TestModeIntent.refunded + amount)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise ProviderRefused("The refund is larger than what is left of the payment.")
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        return Refund(id=f"re_test_{digest}", status="succeeded", amount=amount)

    def webhook_secret(self) -> str:
        return test_mode_webhook_secret()

    def confirm(self, intent_id: str, client_secret: str, card_number: str) -> Intent:
        """Pay with a test card: the intent as Stripe would leave it (committed by the caller).

        ProviderRefused when the intent can't be paid (already paid, cancelled) or the
        secret doesn't match.
        """
        row = self._row(intent_id, lock=True)
        if not secrets.compare_digest(row.client_secret, client_secret):
            raise ProviderRefused("This payment does not belong to that order.")
        if row.status not in OPEN_STATUSES or row.status == "requires_action":
            raise ProviderRefused(
                f"This payment can't be confirmed: it is {row.status}.", state=row.status
            )
        outcome: tuple[str, str | None]
        if card_number == SUCCEEDS:
            outcome = ("succeeded", None)
        elif card_number == NEEDS_AUTHENTICATION:
            outcome = ("requires_action", None)
        else:
            outcome = ("requires_payment_method", DECLINE_MESSAGE)
        return self._settle(row, from_statuses=OPEN_STATUSES[:2], outcome=outcome)

    def authenticate(self, intent_id: str, client_secret: str, *, approve: bool) -> Intent:
        """The shopper's answer to their bank's check (3D Secure) for a 3155 card."""
        row = self._row(intent_id, lock=True)
        if not secrets.compare_digest(row.client_secret, client_secret):
            raise ProviderRefused("This payment does not belong to that order.")
        if row.status != "requires_action":
            raise ProviderRefused(
                f"This payment is not waiting for the bank's check: it is {row.status}.",
                state=row.status,
            )
        failed = ("requires_payment_method", AUTHENTICATION_FAILED)
        outcome: tuple[str, str | None] = ("succeeded", None) if approve else failed
        return self._settle(row, from_statuses=("requires_action",), outcome=outcome)

    def _settle(
        self,
        row: TestModeIntent,
        *,
        from_statuses: tuple[str, ...],
        outcome: tuple[str, str | None],
    ) -> Intent:
        """Move the intent to `outcome` only if it is still in `from_statuses`: a cancel
        (expiry) that got there first wins, on every backend."""
        status, error = outcome
        changed = self.session.execute(
            update(TestModeIntent)
            .where(TestModeIntent.id == row.id, TestModeIntent.status.in_(from_statuses))
            .values(status=status, last_error=error)
            .execution_options(synchronize_session=False)
        )
        now = self._row(row.id)
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            raise ProviderRefused(
                f"This payment can't be confirmed: it is {now.status}.", state=now.status
            )
        return _intent(now)

    def last_error(self, intent_id: str) -> str | None:
        return self._row(intent_id).last_error

    def _by_key(self, key: str, *, latest: bool = False) -> TestModeIntent | None:
        query = select(TestModeIntent).where(TestModeIntent.idempotency_key == key)
        if latest:
            query = query.with_for_update(read=True).execution_options(populate_existing=True)
        return self.session.scalar(query)

    def _row(self, intent_id: str, *, lock: bool = False) -> TestModeIntent:
        query = select(TestModeIntent).where(TestModeIntent.id == intent_id)
        if lock:
            query = query.with_for_update()
        row = self.session.scalar(query.execution_options(populate_existing=True))
        if row is None:
            raise ProviderRefused(f"No such payment_intent: '{intent_id}'", code="resource_missing")
        return row


#: Stripe's event type for each intent status a confirmation can leave.
EVENT_FOR_STATUS = {
    "succeeded": "payment_intent.succeeded",
    "requires_payment_method": "payment_intent.payment_failed",
    "requires_action": "payment_intent.requires_action",
    "processing": "payment_intent.processing",
    "canceled": "payment_intent.canceled",
}


def intent_event(intent: Intent, *, last_error: str | None = None) -> dict[str, Any]:
    """The event Stripe sends when an intent reaches `intent.status`."""
    error = {"message": last_error, "type": "card_error", "code": "card_declined"}
    return {
        "id": f"evt_test_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": EVENT_FOR_STATUS[intent.status],
        "data": {
            "object": {
                "id": intent.id,
                "object": "payment_intent",
                "amount": intent.amount,
                "amount_received": intent.amount if intent.status == "succeeded" else 0,
                "currency": intent.currency,
                "status": intent.status,
                "metadata": intent.metadata,
                "last_payment_error": error if last_error else None,
            }
        },
    }


def signed(event: dict[str, Any]) -> tuple[bytes, str]:
    """(raw body, Stripe-Signature header) for `event`, signed with the test mode's secret."""
    payload = json.dumps(event, separators=(",", ":"))
    return payload.encode(), signature_header(payload, test_mode_webhook_secret())


def test_mode_webhook_secret() -> str:
    """STRIPE_WEBHOOK_SECRET, else a secret made once in DATA_DIR (owner-readable only)."""
    settings = get_settings()
    if settings.stripe_webhook_secret:
        return settings.stripe_webhook_secret
    return _local_secret(settings.data_dir / "test_mode_webhook_secret")


@lru_cache(maxsize=4)
def _local_secret(path: Path) -> str:
    """The secret in `path`, created first if need be (read once per process)."""
    with _secret_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(f"whsec_test_{secrets.token_hex(24)}")
            try:
                os.link(tmp, path)  # atomic: the first process to create it wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip()


test_mode_webhook_secret.__test__ = False  # type: ignore[attr-defined]
