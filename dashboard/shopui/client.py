"""Typed HTTP client of the dashboard: the one place that talks to the Commerce and ML APIs.

Tokens live in a mutable mapping (Streamlit's session state in the app, a dict in tests), so
one pooled `httpx.Client` can serve every browser session. An expired access token is renewed
once with the refresh token; when that fails too the caller gets `SessionExpired`.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Literal

import httpx

Api = Literal["commerce", "ml"]
Json = Any

ACCESS = "access_token"
REFRESH = "refresh_token"

#: The browser's address and the secret that makes the APIs believe it (DASHBOARD_PROXY_SECRET):
#: the API is called from this server, so without them every shopper shares its address.
CLIENT_ADDRESS_HEADER = "X-Shopfn-Client-Address"
PROXY_SECRET_HEADER = "X-Shopfn-Proxy-Secret"  # noqa: S105 - a header name, not a secret

# How the platform says "nobody serves this path" (as opposed to "this record does not exist").
_UNROUTED_DETAILS = ("No function serves", "No such resource.")


class ApiError(Exception):
    """A problem+json answer (or a transport failure) turned into something a person can read."""

    def __init__(
        self, status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []

    @property
    def message(self) -> str:
        """One readable sentence, with the fields at fault for validation errors."""
        text = self.detail or self.title or f"The request failed ({self.status})."
        fields = [
            f"{'.'.join(str(p) for p in e.get('loc', [])[1:]) or 'value'}: {e.get('msg', '')}"
            for e in self.errors
        ]
        return f"{text} ({'; '.join(fields)})" if fields else text


class SessionExpired(ApiError):
    """The access token is no longer accepted and could not be refreshed: sign in again."""


class NotAvailable(ApiError):
    """The endpoint is not deployed (yet) or its API does not answer."""


class Unreachable(NotAvailable):
    """Nobody answers at the API's address (a transport failure, not an HTTP answer)."""


class ShopClient:
    """Calls of the storefront and admin console, one method per endpoint they use."""

    def __init__(
        self,
        commerce_url: str,
        ml_url: str,
        state: MutableMapping[Any, Any],  # Streamlit's session state also takes int keys
        http: httpx.Client | None = None,
        *,
        client_address: str | None = None,
        proxy_secret: str | None = None,
    ) -> None:
        """`client_address` is the browser's, forwarded on every call when `proxy_secret` is set."""
        self._forwarded = (
            {CLIENT_ADDRESS_HEADER: client_address, PROXY_SECRET_HEADER: proxy_secret}
            if client_address and proxy_secret
            else {}
        )
        self._bases: dict[Api, str] = {
            "commerce": commerce_url.rstrip("/"),
            "ml": ml_url.rstrip("/"),
        }
        self._state = state
        self._http = http or httpx.Client(timeout=30.0)

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def signed_in(self) -> bool:
        return bool(self._state.get(ACCESS))

    def forget_tokens(self) -> None:
        self._state.pop(ACCESS, None)
        self._state.pop(REFRESH, None)

    def _store_tokens(self, pair: Mapping[str, Any]) -> None:
        self._state[ACCESS] = pair["access_token"]
        self._state[REFRESH] = pair["refresh_token"]

    def _send(
        self,
        api: Api,
        method: str,
        path: str,
        *,
        json: Json = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool,
    ) -> httpx.Response:
        all_headers = {**(headers or {}), **self._forwarded}
        if auth and self._state.get(ACCESS):
            all_headers["Authorization"] = f"Bearer {self._state[ACCESS]}"
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            return self._http.request(
                method,
                self._bases[api] + path,
                json=json,
                params=clean,
                headers=all_headers,
            )
        except httpx.TimeoutException as exc:
            raise ApiError(504, "Timeout", "The shop took too long to answer; try again.") from exc
        except httpx.TransportError as exc:
            name = "Commerce" if api == "commerce" else "ML"
            raise Unreachable(
                503, "Unreachable", f"The {name} API at {self._bases[api]} is not reachable."
            ) from exc

    def _refresh(self) -> bool:
        token = self._state.get(REFRESH)
        if not token:
            return False
        reply = self._send(
            "commerce", "POST", "/users/refresh", json={"refresh_token": token}, auth=False
        )
        if reply.status_code != 200:
            return False
        self._store_tokens(reply.json())
        return True

    def request(
        self,
        api: Api,
        method: str,
        path: str,
        *,
        json: Json = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        extension: bool = False,
    ) -> Json:
        """The decoded JSON body (None for 204); `ApiError` for any 4xx/5xx.

        `extension` marks endpoints beyond the base contract: until they are deployed, a path
        like /orders/stats falls through to /orders/{id} (404 or 422), which means "not yet".
        """
        reply = self._send(api, method, path, json=json, params=params, headers=headers, auth=auth)
        if reply.status_code == 401 and auth and self._state.get(ACCESS):
            if not self._refresh():
                self.forget_tokens()
                raise SessionExpired(401, "Session expired", "Your session expired: sign in again.")
            reply = self._send(
                api, method, path, json=json, params=params, headers=headers, auth=auth
            )
        if extension and reply.status_code in (404, 405, 422):
            raise NotAvailable(reply.status_code, "Not available", "")
        if reply.status_code >= 400:
            raise _error_from(reply)
        if reply.status_code == 204 or not reply.content:
            return None
        return reply.json()

    # -- users ------------------------------------------------------------------------------

    def sign_in(self, email: str, password: str) -> dict[str, Any]:
        """Log in, keep the token pair, and return the signed-in user."""
        pair = self.request(
            "commerce", "POST", "/users/login", json={"email": email, "password": password}
        )
        self._store_tokens(pair)
        return self.me()

    def register(self, email: str, password: str, full_name: str) -> dict[str, Any]:
        body = {"email": email, "password": password, "full_name": full_name}
        return self.request("commerce", "POST", "/users/register", json=body, auth=False)

    def me(self) -> dict[str, Any]:
        return self.request("commerce", "GET", "/users/me")

    def update_me(self, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("commerce", "PATCH", "/users/me", json=changes)

    def my_offers(self) -> list[dict[str, Any]]:
        """The signed-in customer's personal codes usable now (the storefront banner)."""
        return self.request("commerce", "GET", "/users/me/offers", extension=True)

    def users(self, q: str = "", role: str = "", page: int = 1, page_size: int = 20) -> Json:
        params = {"q": q, "role": role, "page": page, "page_size": page_size}
        return self.request("commerce", "GET", "/users", params=params)

    def update_user(self, user_id: int, changes: dict[str, Any]) -> Json:
        return self.request("commerce", "PATCH", f"/users/{user_id}", json=changes)

    # -- products ---------------------------------------------------------------------------

    def products(self, **filters: Any) -> Json:
        """A page of active products; filters as in the API (q, category, min_price, sort...)."""
        return self.request("commerce", "GET", "/products", params=filters)

    def categories(self) -> list[dict[str, Any]]:
        return self.request("commerce", "GET", "/products/categories")

    def product(self, product_id: int, source: str | None = None) -> dict[str, Any]:
        """One product; `source` names the recommendation list the shopper came from."""
        params = {"source": source} if source else None
        return self.request("commerce", "GET", f"/products/{product_id}", params=params)

    def create_product(self, fields: dict[str, Any]) -> dict[str, Any]:
        return self.request("commerce", "POST", "/products", json=fields)

    def update_product(self, product_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("commerce", "PATCH", f"/products/{product_id}", json=changes)

    def deactivate_product(self, product_id: int) -> None:
        self.request("commerce", "DELETE", f"/products/{product_id}")

    def adjust_stock(self, product_id: int, delta: int, reason: str) -> dict[str, Any]:
        body = {"delta": delta, "reason": reason}
        return self.request("commerce", "POST", f"/products/{product_id}/inventory", json=body)

    def low_stock(self, threshold: int | None = None) -> Json:
        params = {"threshold": threshold}
        return self.request("commerce", "GET", "/products/low-stock", params=params, extension=True)

    # -- cart and orders --------------------------------------------------------------------

    def cart(self, coupon: str | None = None) -> dict[str, Any]:
        """The cart; with `coupon`, also what the code would save (ApiError saying why not)."""
        return self.request("commerce", "GET", "/cart", params={"coupon": coupon})

    def add_to_cart(
        self, product_id: int, quantity: int, source: str | None = None
    ) -> dict[str, Any]:
        """Add to the cart; `source` names the recommendation list it was added from."""
        body: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
        if source:
            body["source"] = source
        return self.request("commerce", "POST", "/cart/items", json=body)

    def set_cart_quantity(self, product_id: int, quantity: int) -> Json:
        return self.request(
            "commerce", "PATCH", f"/cart/items/{product_id}", json={"quantity": quantity}
        )

    def remove_from_cart(self, product_id: int) -> None:
        self.request("commerce", "DELETE", f"/cart/items/{product_id}")

    def place_order(
        self,
        shipping_address: dict[str, str],
        idempotency_key: str,
        coupon_code: str | None = None,
    ) -> Json:
        """Check out the cart; the same key always yields the same single order."""
        body: dict[str, Any] = {"shipping_address": shipping_address}
        if coupon_code:
            body["coupon_code"] = coupon_code
        return self.request(
            "commerce",
            "POST",
            "/orders",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    def orders(
        self, status: str = "", page: int = 1, page_size: int = 20, all_users: bool = False
    ) -> Json:
        params = {
            "status": status,
            "page": page,
            "page_size": page_size,
            "all": "true" if all_users else None,
        }
        return self.request("commerce", "GET", "/orders", params=params)

    def order(self, order_id: int | str) -> dict[str, Any]:
        return self.request("commerce", "GET", f"/orders/{order_id}")

    def cancel_order(self, order_id: int | str) -> dict[str, Any]:
        return self.request("commerce", "POST", f"/orders/{order_id}/cancel")

    def set_order_status(self, order_id: int | str, status: str) -> dict[str, Any]:
        return self.request(
            "commerce", "PATCH", f"/orders/{order_id}/status", json={"status": status}
        )

    def order_stats(self, days: int = 30) -> Json:
        return self.request(
            "commerce", "GET", "/orders/stats", params={"days": days}, extension=True
        )

    # -- coupons (admin) --------------------------------------------------------------------

    def coupons(self, page: int = 1, page_size: int = 20, **filters: Any) -> Json:
        params = {"page": page, "page_size": page_size, **filters}
        return self.request("commerce", "GET", "/orders/coupons", params=params, extension=True)

    def create_coupon(self, fields: dict[str, Any]) -> dict[str, Any]:
        return self.request("commerce", "POST", "/orders/coupons", json=fields)

    def update_coupon(self, coupon_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("commerce", "PATCH", f"/orders/coupons/{coupon_id}", json=changes)

    def deactivate_coupon(self, coupon_id: int) -> None:
        self.request("commerce", "DELETE", f"/orders/coupons/{coupon_id}")

    # -- payments ---------------------------------------------------------------------------

    def payment_config(self) -> dict[str, Any]:
        """How the shop takes payment: Stripe (publishable key) or the test mode (test cards)."""
        return self.request("commerce", "GET", "/payments/config", auth=False)

    def order_payment(self, order_id: int | str) -> dict[str, Any]:
        """The order's payment: status, what to pay, and the client secret while unpaid."""
        return self.request("commerce", "GET", f"/payments/orders/{order_id}")

    def pay_with_test_card(self, order_id: int | str, card_number: str) -> dict[str, Any]:
        """Test mode only: the one call that ever carries a card number, to the shop's own
        pretend provider. With Stripe the card goes from the browser to Stripe.js instead."""
        return self.request(
            "commerce",
            "POST",
            f"/payments/orders/{order_id}/test-card",
            json={"card_number": card_number},
        )

    def answer_test_authentication(self, order_id: int | str, approve: bool) -> dict[str, Any]:
        return self.request(
            "commerce",
            "POST",
            f"/payments/orders/{order_id}/test-authentication",
            json={"approve": approve},
        )

    def refund_order(
        self, order_id: int | str, idempotency_key: str, amount: str | None = None, reason: str = ""
    ) -> dict[str, Any]:
        """Refund `amount` (a money string), or all that is left when None; once per key."""
        body: dict[str, Any] = {}
        if amount is not None:
            body["amount"] = amount
        if reason:
            body["reason"] = reason
        return self.request(
            "commerce",
            "POST",
            f"/payments/orders/{order_id}/refunds",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    def payment_issues(self, page: int = 1, page_size: int = 20) -> Json:
        params = {"page": page, "page_size": page_size}
        return self.request("commerce", "GET", "/payments/issues", params=params)

    # -- support ----------------------------------------------------------------------------

    def chat(self, message: str, conversation_id: str | int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"message": message}
        if conversation_id is not None:
            body["conversation_id"] = conversation_id
        return self.request("commerce", "POST", "/support/chat", json=body)

    def conversations(self, page: int = 1, page_size: int = 20, **filters: Any) -> Json:
        params = {"page": page, "page_size": page_size, **filters}
        return self.request("commerce", "GET", "/support/conversations", params=params)

    def conversation(self, conversation_id: str | int) -> dict[str, Any]:
        return self.request("commerce", "GET", f"/support/conversations/{conversation_id}")

    def tickets(self, page: int = 1, page_size: int = 20, **filters: Any) -> Json:
        params = {"page": page, "page_size": page_size, **filters}
        return self.request("commerce", "GET", "/support/tickets", params=params)

    def update_ticket(self, ticket_id: str | int, changes: dict[str, Any]) -> Json:
        return self.request("commerce", "PATCH", f"/support/tickets/{ticket_id}", json=changes)

    # -- ML ---------------------------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        return self.request("ml", "GET", "/ml/models")

    def at_risk(self, limit: int = 50) -> Json:
        return self.request("ml", "GET", "/ml/predictions/at-risk", params={"limit": limit})

    def behavior(self, days: int = 30) -> Json:
        return self.request("ml", "GET", "/ml/analytics/behavior", params={"days": days})

    def drift(self, model: str = "churn") -> Json:
        params = {"model": model}
        return self.request("ml", "GET", "/ml/monitoring/drift", params=params, extension=True)

    def bought_together(self, product_ids: list[int], limit: int = 4) -> Json:
        """Products often bought with these (one product, or the cart's)."""
        if len(product_ids) == 1:
            path = f"/ml/recommendations/products/{product_ids[0]}"
            return self.request("ml", "GET", path, params={"limit": limit}, extension=True)
        params = {"product_ids": product_ids[:50], "limit": limit}
        return self.request("ml", "GET", "/ml/recommendations/together", params=params)

    def picked_for_you(self, limit: int = 4) -> Json:
        params = {"limit": limit}
        return self.request("ml", "GET", "/ml/recommendations/for-you", params=params)

    def buy_again(self, limit: int = 4) -> Json:
        params = {"limit": limit}
        return self.request("ml", "GET", "/ml/recommendations/buy-again", params=params)

    def recommendation_impact(self, days: int = 30) -> Json:
        params = {"days": days}
        path = "/ml/recommendations/impact"
        return self.request("ml", "GET", path, params=params, extension=True)

    def start_retrain(self) -> dict[str, Any]:
        return self.request("ml", "POST", "/ml/retrain", json={})

    def retrain_runs(self, page: int = 1, page_size: int = 20) -> Json:
        params = {"page": page, "page_size": page_size}
        return self.request("ml", "GET", "/ml/retrain/runs", params=params)

    def retrain_run(self, run_id: str | int) -> dict[str, Any]:
        return self.request("ml", "GET", f"/ml/retrain/runs/{run_id}")

    def retrain_schedule(self) -> Json:
        return self.request("ml", "GET", "/ml/retrain/schedule", extension=True)

    # -- retention campaigns ----------------------------------------------------------------

    def campaigns(self, page: int = 1, page_size: int = 20) -> Json:
        params = {"page": page, "page_size": page_size}
        return self.request("ml", "GET", "/ml/campaigns", params=params, extension=True)

    def create_campaign(self, fields: dict[str, Any]) -> dict[str, Any]:
        return self.request("ml", "POST", "/ml/campaigns", json=fields)

    def update_campaign(self, campaign_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return self.request("ml", "PATCH", f"/ml/campaigns/{campaign_id}", json=changes)

    def run_campaigns(self) -> list[dict[str, Any]]:
        return self.request("ml", "POST", "/ml/campaigns/run")

    def campaign_effect(self, campaign_id: int) -> dict[str, Any]:
        return self.request("ml", "GET", f"/ml/campaigns/{campaign_id}/effect")

    def outbox(self, page: int = 1, page_size: int = 20, **filters: Any) -> Json:
        params = {"page": page, "page_size": page_size, **filters}
        return self.request("ml", "GET", "/ml/campaigns/outbox", params=params, extension=True)


def _error_from(reply: httpx.Response) -> ApiError:
    try:
        body = reply.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    title = str(body.get("title") or reply.reason_phrase or "Error")
    detail = str(body.get("detail") or "")
    errors = body.get("errors") if isinstance(body.get("errors"), list) else None
    unrouted = reply.status_code == 404 and detail.startswith(_UNROUTED_DETAILS)
    if unrouted or reply.status_code == 405:
        return NotAvailable(reply.status_code, title, detail, errors)
    return ApiError(reply.status_code, title, detail, errors)
