"""`shopfn serve` prints each new outbox message on its console (`outbox: ...`), as
`shopfn outbox` would.

Messages are rows written by whichever process made them (a campaign run in the gateway, the
nightly scheduler, a CLI command), so a daemon thread reads the table every few seconds for
rows newer than the last one it printed. Messages already there when serve starts are not
repeated: `shopfn outbox` lists those. A campaign run writes hundreds at once: the console
shows the first few and how many more there are, rather than scrolling through all of them.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select

from shop.logging import failure_reason, log_failure

log = logging.getLogger("shopfn.outbox")

#: Seconds between two looks at the outbox.
POLL_SECONDS = 2.0
#: Most messages printed in one look; the others written by then are counted, not printed.
SHOWN = 5


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
            newest = session.scalar(select(func.max(OutboxMessage.id))) or 0
            if newest <= self.last_id:
                return 0
            waiting = session.scalar(
                select(func.count()).where(
                    OutboxMessage.id > self.last_id, OutboxMessage.id <= newest
                )
            )
            messages = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id > self.last_id)
                .order_by(OutboxMessage.id)
                .limit(SHOWN)
            ).all()
            for message in messages:
                log.info("%s", format_message(message))
            more = int(waiting or 0) - len(messages)
            if more > 0:
                log.info("...and %d more new messages: `shopfn outbox` lists them all.", more)
            self.last_id = int(newest)
            return int(waiting or 0)

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
