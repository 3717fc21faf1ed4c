"""History trimming, address buckets and deadlines on their own."""

from __future__ import annotations

import pytest

from shop.services.support.deadline import Deadline
from shop.services.support.history import HistoryMessage, estimate_tokens, fit_to_budget
from shop.services.support.ratelimit import address_bucket


def _messages(*sizes: int) -> list[HistoryMessage]:
    return [HistoryMessage("user", str(n) * size) for n, size in enumerate(sizes)]


def test_newest_messages_that_fit_are_kept_in_order() -> None:
    messages = _messages(400, 40, 40)  # 104, 14 and 14 tokens

    assert fit_to_budget(messages, 30) == messages[1:]
    assert fit_to_budget(messages, 200) == messages


def test_trimming_stops_at_the_first_message_that_does_not_fit() -> None:
    messages = _messages(40, 400, 40)

    assert fit_to_budget(messages, 100) == messages[2:]


def test_a_budget_smaller_than_the_newest_message_sends_no_history() -> None:
    assert fit_to_budget(_messages(400), 50) == []


def test_token_estimate_counts_text_and_overhead() -> None:
    assert estimate_tokens("") == 4
    assert estimate_tokens("abcd" * 10) == 14


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("203.0.113.9", "addr:203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "addr:2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "addr:203.0.113.9"),
        ("not-an-ip", "addr:not-an-ip"),
    ],
)
def test_address_buckets(address: str, bucket: str) -> None:
    assert address_bucket(address) == bucket


def test_deadline_leaves_the_lambda_three_seconds() -> None:
    assert Deadline.for_request(20, None).seconds == 20
    assert Deadline.for_request(20, 10_000).seconds == 7
    assert Deadline.for_request(20, 1_000).seconds == 0
    assert 0 < Deadline(5).remaining() <= 5
