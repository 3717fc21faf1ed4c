"""Without a key, or when the model fails or is slow, the offline assistant answers."""

from __future__ import annotations

import time

import pytest
from chatting import chat, configure, order_for, stored_messages
from fake_openai import FakeOpenAI, error, garbage, last_tool_result, reply, slow, tool_call
from shopping import new_product
from support import LambdaClient, make_admin, sign_up

from shop.services.support.offline import OFFLINE_NOTE


def _offline(answer_json: dict) -> str:
    assert answer_json["model"] == "offline"
    assert answer_json["reply"].endswith(OFFLINE_NOTE)
    return answer_json["reply"]


def test_without_a_key_order_status_is_answered_offline_with_the_tools(
    client: LambdaClient,
) -> None:
    admin = make_admin(client)
    shopper = sign_up(client)
    order = order_for(client, admin, shopper)

    specific = chat(client, f"What's the status of order #{order.id}?", account=shopper)
    recent = chat(client, "Where is my order?", account=shopper)

    assert specific.status == 200
    text = _offline(specific.json())
    assert f"Order {order.id} is waiting for payment" in text and "25.00" in text
    assert specific.json()["tools_used"] == ["get_my_order"]
    assert f"Order {order.id}: waiting for payment" in _offline(recent.json())
    assert recent.json()["tools_used"] == ["list_my_orders"]


def test_offline_anonymous_order_question_asks_to_sign_in(client: LambdaClient) -> None:
    answer = chat(client, "where is my order?")

    assert "sign in" in _offline(answer.json())


@pytest.mark.parametrize(
    "question", ["Do you have a skillet?", "How much is the iron skillet?", "skillets"]
)
def test_offline_product_search_lists_matching_products(
    client: LambdaClient, question: str
) -> None:
    admin = make_admin(client)
    new_product(client, admin, name="Cast Iron Skillet", price="39.90", stock=3)
    new_product(client, admin, name="Phone Charger", price="19.00", stock=0)

    answer = chat(client, question)

    text = _offline(answer.json())
    assert "Cast Iron Skillet" in text and "39.90" in text and "in stock" in text
    assert answer.json()["tools_used"] == ["search_products"]


def test_offline_search_says_when_a_product_is_out_of_stock(client: LambdaClient) -> None:
    admin = make_admin(client)
    new_product(client, admin, name="Phone Charger", price="19.00", stock=0)

    answer = chat(client, "Do you sell phone chargers?")

    assert "Phone Charger" in _offline(answer.json()) and "out of stock" in answer.json()["reply"]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("How long does shipping take?", "3-5 business days"),
        ("Can I return a jacket I bought?", "within 30 days"),
        ("How can I contact you by e-mail?", "support@shopfn.example"),
        ("What's your phone number?", "support@shopfn.example"),
        ("hello", "I can help with your order status"),
    ],
)
def test_offline_policy_and_contact_questions(
    client: LambdaClient, message: str, expected: str
) -> None:
    answer = chat(client, message)

    assert answer.status == 200
    assert expected in _offline(answer.json())


def test_offline_cart_question_shows_the_cart(client: LambdaClient) -> None:
    admin = make_admin(client)
    shopper = sign_up(client)
    product_id = new_product(client, admin, name="Pour-Over Set", price="27.00")
    client.post(
        "/cart/items", json={"product_id": product_id, "quantity": 2}, token=shopper.access_token
    )

    answer = chat(client, "What's in my cart?", account=shopper)

    assert "2 x Pour-Over Set: 54.00" in _offline(answer.json())


def test_upstream_500s_fall_back_to_offline_after_one_retry(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    model.queue(error(500), error(500), reply("never used"))

    answer = chat(client, "How long does shipping take?")

    assert answer.status == 200
    assert "3-5 business days" in _offline(answer.json())
    assert len(model.requests) == 2
    stored = stored_messages(answer.json()["conversation_id"])
    assert stored[1][0] == "assistant" and stored[1][1] == answer.json()["reply"]


def test_one_upstream_500_is_retried_and_the_model_answers(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    model.queue(error(503), reply("We ship within 1-2 business days."))

    answer = chat(client, "Shipping?")

    assert answer.json() | {"conversation_id": None} == {
        "conversation_id": None,
        "reply": "We ship within 1-2 business days.",
        "model": "gpt-4o",
        "tools_used": [],
    }


def test_rate_limited_upstream_is_not_waited_for(client: LambdaClient, model: FakeOpenAI) -> None:
    # The openai client would sleep for Retry-After (up to two minutes) before retrying.
    model.queue(error(429, headers={"retry-after": "60"}))

    started = time.monotonic()
    answer = chat(client, "Can I return this?")

    assert time.monotonic() - started < 5
    assert "within 30 days" in _offline(answer.json())
    assert len(model.requests) == 1


def test_slow_model_times_out_and_the_offline_assistant_answers(
    client: LambdaClient, model: FakeOpenAI, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, openai_timeout_seconds=0.5, openai_max_retries=0)
    model.queue(slow(5, reply("too late")))

    started = time.monotonic()
    answer = chat(client, "How long does shipping take?")

    assert time.monotonic() - started < 4  # well before the answer would have come
    assert "3-5 business days" in _offline(answer.json())


def test_the_turn_deadline_bounds_every_model_call_and_retry(
    client: LambdaClient, model: FakeOpenAI, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, openai_timeout_seconds=10, support_deadline_seconds=1.2)
    model.default = slow(5, reply("too late"))

    started = time.monotonic()
    answer = chat(client, "Hi")

    assert time.monotonic() - started < 4  # not 10 s per attempt, nor the 5 s answer
    assert answer.status == 200 and answer.json()["model"] == "offline"


@pytest.mark.parametrize("step", [garbage(), reply("")], ids=["not-json", "empty-reply"])
def test_unusable_model_answers_fall_back_to_offline(
    client: LambdaClient, model: FakeOpenAI, step: object
) -> None:
    model.default = step  # type: ignore[assignment]

    answer = chat(client, "How can I contact you?")

    assert answer.status == 200
    assert "support@shopfn.example" in _offline(answer.json())


def test_unreachable_server_falls_back_to_offline(
    client: LambdaClient, model: FakeOpenAI, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, openai_base_url="http://127.0.0.1:9/v1")

    answer = chat(client, "Returns?")

    assert answer.status == 200
    assert "within 30 days" in _offline(answer.json())
    assert model.requests == []


def test_a_failing_tool_is_an_error_for_the_model_not_a_failed_chat(
    client: LambdaClient, model: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.services import catalog

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("bug in the catalog")

    monkeypatch.setattr(catalog, "product_query", broken)
    model.queue(tool_call("search_products", {"query": "mug"}), reply(last_tool_result))

    answer = chat(client, "Do you have mugs?")

    assert answer.status == 200
    assert answer.json()["reply"] == '{"error": "search_products is not available right now."}'


def test_if_even_the_offline_assistant_fails_the_customer_gets_the_contact_details(
    client: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.services.support import offline

    def broken(*_args: object) -> str:
        raise KeyError("bug")

    monkeypatch.setattr(offline, "answer_offline", broken)

    answer = chat(client, "Where is my parcel?")

    assert answer.status == 200
    assert "support@shopfn.example" in _offline(answer.json())
