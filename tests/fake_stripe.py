"""A fake Stripe API on 127.0.0.1 for tests: PaymentIntents and refunds, as the real `stripe`
SDK sees them (form-encoded requests, JSON answers, Idempotency-Key honoured for 24 h).

Tests move intents as a shopper's browser would (`succeed`, `fail`), make the next answer
slow (`delay_next`) and read back every request the SDK sent. `event()` builds the event
Stripe would send for an intent, and `signed()` signs it the way Stripe does.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from servers import ThreadedFake

SECRET_KEY = "sk_test_fake_shopfn"
WEBHOOK_SECRET = "whsec_fake_shopfn"
PUBLISHABLE_KEY = "pk_test_fake_shopfn"
_ids = itertools.count(1)


def stripe_signature(
    payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> str:
    """`Stripe-Signature` as Stripe computes it: t=..., v1=HMAC-SHA256(secret, "t.payload")."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def signed(event: dict[str, Any], **kwargs: Any) -> tuple[bytes, str]:
    """(raw body, Stripe-Signature) for an event."""
    payload = json.dumps(event)
    return payload.encode(), stripe_signature(payload, **kwargs)


def _nested(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[order_id]=7`) back into nested dicts."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        target = out
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return out


@dataclass
class FakeStripe(ThreadedFake):
    """The server; its state is plain dicts the tests may read."""

    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    #: Answer the next matching request only after this many seconds (a timeout to us).
    delays: list[tuple[str, float]] = field(default_factory=list)
    #: Answer the next matching request with this HTTP status (an outage), once.
    failures: list[tuple[str, int]] = field(default_factory=list)
    _idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._listen(self._handler_class())

    @property
    def api_base(self) -> str:
        return self.origin

    def reset(self) -> None:
        with self._lock:
            self.intents.clear()
            self.refunds.clear()
            self.requests.clear()
            self.delays.clear()
            self.failures.clear()
            self._idempotent.clear()

    def delay_next(self, path_prefix: str, seconds: float) -> None:
        self.delays.append((path_prefix, seconds))

    def fail_next(self, path_prefix: str, status: int = 500) -> None:
        self.failures.append((path_prefix, status))

    def calls(self, method: str, path_prefix: str) -> list[dict[str, Any]]:
        return [p for m, path, p in self.requests if m == method and path.startswith(path_prefix)]

    # --- what the shopper's browser and Stripe do ------------------------------------------

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """The shopper paid: the intent succeeded (unless it was cancelled first)."""
        with self._lock:
            intent = self.intents[intent_id]
            if intent["status"] in ("canceled", "succeeded"):
                raise ValueError(f"intent is {intent['status']}")
            intent["status"], intent["amount_received"] = "succeeded", intent["amount"]
            intent["last_payment_error"] = None
            return dict(intent)

    def fail(self, intent_id: str, message: str = "Your card was declined.") -> dict[str, Any]:
        with self._lock:
            intent = self.intents[intent_id]
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {"message": message, "code": "card_declined"}
            return dict(intent)

    def event(
        self, intent_id: str, event_type: str, *, event_id: str | None = None, **changes: Any
    ) -> dict[str, Any]:
        """The event Stripe sends for the intent as it is now (with `changes` applied)."""
        intent = {**self.intents[intent_id], **changes}
        return {
            "id": event_id or f"evt_fake_{next(_ids)}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "livemode": False,
            "type": event_type,
            "data": {"object": intent},
        }

    # --- the API ---------------------------------------------------------------------------

    def _answer(
        self, method: str, path: str, params: dict[str, Any], key: str | None
    ) -> tuple[int, Any]:
        with self._lock:
            self.requests.append((method, path, params))
            if key and method == "POST" and key in self._idempotent:
                return self._idempotent[key]
        answer = self._route(method, path, params)
        with self._lock:
            if key and method == "POST" and answer[0] < 500:
                self._idempotent.setdefault(key, answer)
                return self._idempotent[key]
        return answer

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        with self._lock:
            if method == "POST" and parts == ["v1", "payment_intents"]:
                if int(params["amount"]) < 50:
                    return 400, _error(
                        "invalid_request_error",
                        "amount_too_small",
                        "Amount must be at least $0.50 usd",
                    )
                return 200, self._create_intent(params)
            if len(parts) >= 3 and parts[:2] == ["v1", "payment_intents"]:
                intent = self.intents.get(parts[2])
                if intent is None:
                    return 404, _error(
                        "invalid_request_error", "resource_missing", "No such payment_intent"
                    )
                if method == "GET" and len(parts) == 3:
                    return 200, dict(intent)
                if method == "POST" and parts[3:] == ["cancel"]:
                    return self._cancel(intent)
            if method == "POST" and parts == ["v1", "refunds"]:
                return self._refund(params)
        return 404, _error(
            "invalid_request_error",
            "resource_missing",
            f"Unrecognized request URL ({method}: {path})",
        )

    def _create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        intent_id = f"pi_fake_{next(_ids)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_received": 0,
            "currency": params["currency"],
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_fake",
            "metadata": params.get("metadata", {}),
            "last_payment_error": None,
            "livemode": False,
        }
        self.intents[intent_id] = intent
        return dict(intent)

    def _cancel(self, intent: dict[str, Any]) -> tuple[int, Any]:
        if intent["status"] in ("succeeded", "canceled", "processing"):
            error = _error(
                "invalid_request_error",
                "payment_intent_unexpected_state",
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
            )
            error["error"]["payment_intent"] = dict(intent)
            return 400, error
        intent["status"] = "canceled"
        return 200, dict(intent)

    def _refund(self, params: dict[str, Any]) -> tuple[int, Any]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return 400, _error(
                "invalid_request_error",
                "charge_not_succeeded",
                "This PaymentIntent has no successful charge to refund.",
            )
        amount = int(params.get("amount") or intent["amount_received"])
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        if refunded + amount > intent["amount_received"]:
            return 400, _error(
                "invalid_request_error",
                "amount_too_large",
                "Refund amount is greater than the amount left.",
            )
        refund_id = f"re_fake_{next(_ids)}"
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "payment_intent": intent["id"],
            "status": "succeeded",
            "currency": intent["currency"],
        }
        self.refunds[refund_id] = refund
        return 200, dict(refund)

    def _take(self, queue: list[tuple[str, Any]], path: str) -> Any:
        with self._lock:
            for index, (prefix, value) in enumerate(queue):
                if path.startswith(prefix):
                    del queue[index]
                    return value
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET", b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self._serve("POST", self.rfile.read(length))

            def _serve(self, method: str, raw: bytes) -> None:
                path = self.path.split("?", 1)[0]
                if self.headers.get("authorization") != f"Bearer {SECRET_KEY}":
                    self._send(
                        401, _error("invalid_request_error", None, "Invalid API Key provided")
                    )
                    return
                status = fake._take(fake.failures, path)
                if status is not None:
                    self._send(status, _error("api_error", None, "Fake Stripe outage"))
                    return
                params = _nested(parse_qsl(raw.decode(), keep_blank_values=True))
                answer = fake._answer(method, path, params, self.headers.get("idempotency-key"))
                delay = fake._take(fake.delays, path)
                if delay:
                    time.sleep(delay)
                self._send(*answer)

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.send_header("request-id", f"req_fake_{next(_ids)}")
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _error(kind: str, code: str | None, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "code": code, "message": message}}
