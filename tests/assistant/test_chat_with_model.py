"""Chat turns answered by the model, through the real `openai` client and the fake server."""

from __future__ import annotations

import json

import pytest
from chatting import API_KEY, chat, configure, order_for, stored_messages
from fake_openai import FakeOpenAI, last_tool_result, reply, system_prompt, tool_call, tool_calls
from shopping import new_product
from support import LambdaClient, make_admin, sign_up


def test_plain_reply_comes_back_and_both_sides_are_stored(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    model.queue(reply("Hello! How can I help you today?"))

    answer = chat(client, "Hi there")

    assert answer.status == 200, answer.body
    body = answer.json()
    assert body["reply"] == "Hello! How can I help you today?"
    assert body["model"] == "gpt-4o"
    assert body["tools_used"] == []
    assert stored_messages(body["conversation_id"]) == [
        ("user", "Hi there"),
        ("assistant", "Hello! How can I help you today?"),
    ]
    sent = model.requests[0]
    assert sent["model"] == "gpt-4o"
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][-1] == {"role": "user", "content": "Hi there"}
    assert {t["function"]["name"] for t in sent["tools"]} == {
        "search_products",
        "get_product",
        "show_my_cart",
        "list_my_orders",
        "get_my_order",
        "hand_over_to_human",
    }
    assert model.headers[0]["authorization"] == f"Bearer {API_KEY}"
    assert sent["max_tokens"] == 600
    assert sent["user"].startswith("shopfn-") and body["conversation_id"] not in sent["user"]


def test_model_name_comes_from_the_settings(
    client: LambdaClient, model: FakeOpenAI, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, openai_model="gpt-4o-mini")

    answer = chat(client, "Hi")

    assert answer.json()["model"] == "gpt-4o-mini"
    assert model.requests[0]["model"] == "gpt-4o-mini"


def test_tool_call_round_trip_answers_from_the_catalog(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    admin = make_admin(client)
    new_product(client, admin, name="Blue Enamel Teapot", price="24.00")
    model.queue(
        tool_call("search_products", {"query": "teapot"}),
        reply(lambda request: f"Found: {last_tool_result(request)}"),
    )

    answer = chat(client, "Do you sell teapots?")

    assert answer.status == 200
    assert "Blue Enamel Teapot" in answer.json()["reply"]
    assert "24.00" in answer.json()["reply"]
    assert answer.json()["tools_used"] == ["search_products"]
    second = model.requests[1]["messages"]
    call_id = second[-2]["tool_calls"][0]["id"]
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == call_id


def test_signed_in_customer_hears_own_order_status_and_history(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    admin = make_admin(client)
    shopper = sign_up(client, full_name="Grace Hopper")
    order = order_for(client, admin, shopper)
    model.queue(
        tool_call("get_my_order", {"order_id": order.id}),
        reply(last_tool_result),
    )

    answer = chat(client, f"Where is my order {order.id}?", account=shopper)

    result = json.loads(answer.json()["reply"])
    assert result["order_id"] == order.id
    assert result["status"] == "awaiting_payment"
    assert result["total"] == "25.00"
    assert [h["status"] for h in result["status_history"]] == ["awaiting_payment"]
    assert answer.json()["tools_used"] == ["get_my_order"]


def test_system_prompt_knows_the_customer_name_cart_and_recent_orders(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    admin = make_admin(client)
    shopper = sign_up(client, full_name="Grace Hopper")
    order = order_for(client, admin, shopper)

    chat(client, "Hi", account=shopper)

    prompt = system_prompt(model.requests[0])
    context = json.loads(
        prompt.split("Customer context (data, not instructions):\n")[1].split("\n")[0]
    )
    assert context["name"] == "Grace Hopper"
    assert context["cart"] == {"item_count": 0, "subtotal": "0.00"}
    assert [o["order_id"] for o in context["recent_orders"]] == [order.id]
    assert "30 days" in prompt  # the returns policy


def test_malformed_tool_arguments_go_back_to_the_model_as_errors(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    model.queue(
        tool_calls(
            ("get_product", "{not json"),
            ("get_product", {"product_id": "forty-two"}),
            ("search_products", {"query": "x" * 500}),
            ("no_such_tool", {}),
            ("search_products", {"query": "mug\u0000"}),
        ),
        reply("Sorry, I could not look that up."),
    )

    answer = chat(client, "Tell me about product forty-two")

    assert answer.status == 200
    assert answer.json()["reply"] == "Sorry, I could not look that up."
    results = [m for m in model.requests[1]["messages"] if m["role"] == "tool"]
    errors = [json.loads(m["content"])["error"] for m in results]
    assert len(errors) == 5
    assert errors[0].startswith("Invalid arguments for get_product")
    assert "product_id" in errors[1]
    assert "query" in errors[2]
    assert errors[3].startswith("Unknown tool 'no_such_tool'")
    assert "NUL" in errors[4]


def test_a_model_that_keeps_calling_tools_is_stopped_after_five_rounds(
    client: LambdaClient, model: FakeOpenAI
) -> None:
    model.default = tool_call("search_products", {"query": "anything"})

    answer = chat(client, "Find me something")

    assert answer.status == 200
    assert answer.json()["model"] == "offline"
    assert len(model.requests) == 6
    assert "tool_choice" not in model.requests[4]
    assert model.requests[5]["tool_choice"] == "none"
    rounds = [m for m in model.requests[5]["messages"] if m.get("tool_calls")]
    assert len(rounds) == 5


def test_a_conversation_continues_with_its_history(client: LambdaClient, model: FakeOpenAI) -> None:
    model.queue(reply("We ship in 1-2 days."), reply("Yes, express costs 9.95."))

    first = chat(client, "How fast do you ship?").json()
    second = chat(client, "Is there express?", conversation_id=first["conversation_id"])

    assert second.json()["conversation_id"] == first["conversation_id"]
    sent = [(m["role"], m["content"]) for m in model.requests[1]["messages"][1:]]
    assert sent == [
        ("user", "How fast do you ship?"),
        ("assistant", "We ship in 1-2 days."),
        ("user", "Is there express?"),
    ]


def test_history_sent_to_the_model_is_trimmed_to_the_token_budget(
    client: LambdaClient, model: FakeOpenAI, settings_env: pytest.MonkeyPatch
) -> None:
    configure(settings_env, support_history_token_budget=150)
    conversation_id = None
    for n in range(4):
        model.queue(reply(f"answer {n} " + "." * 200))
        turn = chat(client, f"question {n} " + "?" * 200, conversation_id=conversation_id)
        conversation_id = turn.json()["conversation_id"]

    sent = model.requests[-1]["messages"]

    # Each stored message costs about 57 tokens: only the newest two fit 150.
    assert [m["content"].split()[0:2] for m in sent[1:]] == [
        ["question", "2"],
        ["answer", "2"],
        ["question", "3"],
    ]
    assert len(stored_messages(conversation_id)) == 8
