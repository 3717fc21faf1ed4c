"""`shopfn serve` prints each new outbox message on its console (`outbox: ...`), as
`shopfn outbox` would.

Messages are rows written by whichever process made them (a campaign run in the gateway, the
nightly scheduler, a CLI command), so a daemon thread reads the table every few seconds for
rows newer than the last one it printed. Messages already there when serve starts are not
repeated: `shopfn outbox` lists those.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select

from shop.logging import failure_reason, log_failure

log = logging.getLogger("shopfn.outbox")

#: Seconds between two looks at the outbox.
POLL_SECONDS = 2.0
#: Most messages printed in one look; a bigger batch is summed up, the rest follow next look.
BATCH = 50


class OutboxWatcher(threading.Thread):
    """A daemon thread printing messages written to the outbox since it started."""

    def __init__(self, interval: float = POLL_SECONDS) -> None:
        super().__init__(name="outbox-watcher", daemon=True)
        self.interval = interval
        self.last_id = _newest_id()
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def poll(self) -> int:
        """Print the messages written since the last look; how many there were."""
        from shop.db import session_scope
        from shop.models import OutboxMessage
        from shopfn.outbox_command import format_message

        with session_scope() as session:
            waiting = session.scalar(select(func.count()).where(OutboxMessage.id > self.last_id))
            messages = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id > self.last_id)
                .order_by(OutboxMessage.id)
                .limit(BATCH)
            ).all()
            if not messages:
                return 0
            if waiting and waiting > len(messages):
                log.info("%d new messages, the first %d:", waiting, len(messages))
            for message in messages:
                log.info("%s", format_message(message))
            self.last_id = messages[-1].id
            return len(messages)

    def run(self) -> None:
        failing = False
        while not self._stop_event.wait(self.interval):
            try:
                self.poll()
            except Exception as exc:  # a busy or migrating database: look again next time
                if not failing:  # said once, not every few seconds while it lasts
                    log_failure(
                        log,
                        f"could not read the outbox ({failure_reason(exc)}); "
                        "trying again every few seconds",
                        exc,
                    )
                failing = True
            else:
                if failing:
                    log.info("reading the outbox again")
                failing = False


def _newest_id() -> int:
    from shop.db import session_scope
    from shop.models import OutboxMessage

    with session_scope() as session:
        return int(session.scalar(select(func.max(OutboxMessage.id))) or 0)


def start_outbox_watcher(interval: float = POLL_SECONDS) -> OutboxWatcher:
    """Start printing new outbox messages (from now on)."""
    watcher = OutboxWatcher(interval)
    watcher.start()
    return watcher
