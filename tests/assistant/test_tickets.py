"""Hand-over tickets: opened from the chat, worked through by admins."""

from __future__ import annotations

from chatting import chat
from support import LambdaClient, make_admin, sign_up


def test_asking_for_a_human_offline_opens_a_ticket_admins_can_work(
    client: LambdaClient,
) -> None:
    shopper = sign_up(client)
    answer = chat(client, "I want to talk to a human about a broken mug", account=shopper)
    admin = make_admin(client)

    assert "ticket" in answer.json()["reply"]
    assert answer.json()["tools_used"] == ["hand_over_to_human"]
    listed = client.get(
        "/support/tickets", params={"status": "open"}, token=admin.access_token
    ).json()
    assert listed["total"] == 1
    ticket = listed["items"][0]
    assert ticket["summary"] == "I want to talk to a human about a broken mug"
    assert ticket["user_id"] == shopper.id and ticket["status"] == "open"

    moved = client.patch(
        f"/support/tickets/{ticket['id']}",
        json={"status": "resolved", "resolution_note": "Replacement sent"},
        token=admin.access_token,
    )

    assert moved.status == 200
    assert moved.json()["status"] == "resolved"
    assert moved.json()["resolution_note"] == "Replacement sent"
    again = client.get(f"/support/tickets/{ticket['id']}", token=admin.access_token).json()
    assert again["status"] == "resolved"
    assert (
        client.get("/support/tickets", params={"status": "open"}, token=admin.access_token).json()[
            "total"
        ]
        == 0
    )


def test_customers_cannot_see_or_change_tickets(client: LambdaClient) -> None:
    shopper = sign_up(client)
    chat(client, "human please", account=shopper)

    assert client.get("/support/tickets", token=shopper.access_token).status == 403
    assert client.get("/support/tickets").status == 401
    assert (
        client.patch(
            "/support/tickets/1", json={"status": "resolved"}, token=shopper.access_token
        ).status
        == 403
    )


def test_invalid_ticket_changes_are_refused(client: LambdaClient) -> None:
    admin = make_admin(client)

    assert (
        client.patch(
            "/support/tickets/999", json={"status": "resolved"}, token=admin.access_token
        ).status
        == 404
    )
    chat(client, "a human please")
    ticket_id = client.get("/support/tickets", token=admin.access_token).json()["items"][0]["id"]
    bad = client.patch(
        f"/support/tickets/{ticket_id}", json={"status": "closed"}, token=admin.access_token
    )
    assert bad.status == 422
    assert (
        client.get("/support/tickets", params={"status": "bogus"}, token=admin.access_token).status
        == 422
    )
