"""What a scheduled job of `shopfn serve` did, in one line of everyday words for its console.

Each job's function returns a dict (what its Lambda returns in AWS). The functions here turn
it into a (logging level, sentence) pair, or None when the job found nothing to do: a shop
where nothing happens keeps a quiet console, and the shop owner reads only what changed.
"""

from __future__ import annotations

import logging
from typing import Any

#: A console line: its logging level and its words.
Line = tuple[int, str]

#: What each purged table holds, in the shop owner's words (also `shopfn housekeeping`).
PURGED_LABELS = {
    "idempotency_records": "checkout retry keys",
    "refresh_tokens": "expired or revoked sign-in tokens",
    "login_failures": "old failed sign-ins",
    "support_rate_hits": "old chat rate-limit counts",
    "throttle_locks": "idle sign-in and chat throttle keys",
    "support_conversations": "expired anonymous chats",
    "behavior_events": "behavior events past their retention",
    "payment_events": "payment events handled long ago",
    "outbox_messages": "customer messages sent (or not sendable) long ago",
}

#: Why the new-data and drift check starts a training run.
_CHECK_CAUSES = {
    "new_data": "Enough new orders and activity since the models were trained",
    "drift": "Customers behave differently from when the models were trained",
}
#: What the console calls a run, by what started it.
_RUN_NAMES = {
    "schedule": "Nightly retrain",
    "new_data": "Retrain for the new data",
    "drift": "Retrain for the changed customers",
}


def count(n: int, one: str, many: str | None = None) -> str:
    """`1 order`, `2 orders`: a number with its noun."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def describe_housekeeping(result: dict[str, Any]) -> Line | None:
    """`purge_scheduled`'s report: what went, if anything."""
    purged = {name: n for name, n in result.get("purged", {}).items() if n}
    complete = result.get("complete", True)
    if not purged and complete:
        return None
    text = "Housekeeping ran out of time before removing anything"
    if purged:
        what = ", ".join(f"{PURGED_LABELS.get(name, name)}: {n:,}" for name, n in purged.items())
        text = f"Housekeeping removed {count(sum(purged.values()), 'old row')} ({what})"
    if not complete:
        text += "; the next run removes the rest"
    return logging.INFO, text + "."


def describe_expiry(result: dict[str, Any], hold_minutes: int) -> Line | None:
    """`expire_scheduled`'s report: orders expired, left to their payment, or to retry."""
    expired, paying, retry = (int(result.get(key, 0)) for key in ("expired", "paying", "retry"))
    if not (expired or paying or retry):
        return None
    sentences = []
    if expired:
        their = "its" if expired == 1 else "their"
        sentences.append(
            f"{count(expired, 'unpaid order')} expired after {count(hold_minutes, 'minute')} "
            f"without payment; {their} stock is back on sale."
        )
    if paying:
        sentences.append(
            f"{count(paying, 'order was', 'orders were')} being paid at that moment and "
            f"{'is' if paying == 1 else 'are'} left to the payment."
        )
    if retry:
        sentences.append(
            f"Could not reach the payment service for {count(retry, 'unpaid order')}; "
            "the next run tries again."
        )
    return (logging.WARNING if retry else logging.INFO), " ".join(sentences)


def describe_run(
    outcome: dict[str, Any], trigger: str = "schedule", *, name: str | None = None
) -> Line:
    """A finished (or handed-over) training run: are new models in use, and if not, why."""
    name = name or _RUN_NAMES.get(trigger, "Retrain")
    status = outcome.get("status")
    reason = (outcome.get("reason") or "no reason was recorded").rstrip(" :.")
    if status == "succeeded" and outcome.get("promoted"):
        return logging.INFO, f"{name} finished: new models in use."
    if status == "succeeded":
        return logging.INFO, f"{name} finished: the models in use did as well, so they stay."
    if status == "skipped":
        return logging.INFO, f"{name} skipped: {reason}."
    if status == "failed":
        return logging.WARNING, f"{name} failed: {reason}. The models in use stay."
    return logging.INFO, f"{name} started on the ECS task (run {outcome.get('run_id')})."


def describe_retrain(result: dict[str, Any]) -> Line:
    """The nightly run's outcome, and the offers the campaigns sent after it."""
    level, text = describe_run(result)
    offered = int(result.get("offered", 0))
    if offered:
        text += (
            f" Retention campaigns offered a coupon to {count(offered, 'customer')} "
            "(see the outbox)."
        )
    return level, text


def describe_check(result: dict[str, Any]) -> Line | None:
    """The new-data and drift check: a line only when it started a training run."""
    trigger, run_id = result.get("trigger"), result.get("run_id")
    if trigger is None or run_id is None:
        return None
    if result.get("first_models"):
        return logging.INFO, (
            f"The shop now has enough order history for its first models: training them now "
            f"(run {run_id})."
        )
    cause = _CHECK_CAUSES.get(trigger, "The check asked for new models")
    return logging.INFO, f"{cause}: training new models now (run {run_id})."
