"""`shopfn outbox`: read the messages campaigns sent to customers, as the shop owner would."""

from __future__ import annotations

import argparse
from typing import Any


def _cmd_outbox(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shop.pagination import PageRequest
    from shop.services import outbox

    upgrade()
    with session_scope() as session:
        if args.send:
            done = outbox.deliver_pending(session)
            print(f"sent {done.sent}, skipped {done.skipped} (opted out), failed {done.failed}")
        page = outbox.list_messages(
            session, PageRequest(page=1, page_size=args.limit), campaign_id=args.campaign
        )
        if not page.items:
            print("the outbox is empty")
            return 0
        print(f"{page.total} messages; the newest {len(page.items)}:")
        for message in page.items:
            print(format_message(message, full=args.full))
    return 0


def format_message(message: Any, *, full: bool = False) -> str:
    """One message as a few readable lines: when, to whom, what happened, the subject."""
    when = message.created_at.strftime("%Y-%m-%d %H:%M")
    status = message.status if not message.error else f"{message.status} ({message.error})"
    lines = [
        f"#{message.id} {when} UTC  to {message.to_address}  [{status}]",
        f"  {message.subject}",
    ]
    if full:
        lines += [f"    {line}" for line in message.body.splitlines()]
    return "\n".join(lines)


def _limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 500, not {raw!r}")
    return int(raw)


def add_outbox_command(commands: Any) -> None:
    outbox = commands.add_parser(
        "outbox", help="show the messages sent to customers (offers from campaigns)"
    )
    outbox.add_argument("--limit", type=_limit, default=20, help="how many, newest first (1..500)")
    outbox.add_argument("--campaign", type=int, help="only this campaign's messages")
    outbox.add_argument("--full", action="store_true", help="print each message's text too")
    outbox.add_argument("--send", action="store_true", help="send the waiting ones first")
    outbox.set_defaults(run=_cmd_outbox)
