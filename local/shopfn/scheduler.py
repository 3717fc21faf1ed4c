"""The local stand-in for the EventBridge rules: RETRAIN_SCHEDULE fires the retrain function,
RETRAIN_CHECK_SCHEDULE its new-data and drift check, HOUSEKEEPING_SCHEDULE the users
function's purge, PAYMENT_EXPIRY_SCHEDULE the payments function's expiry of unpaid orders.

`HH:MM` fires daily at that UTC time, `every:SECONDS` at a fixed interval (demos, tests),
`off` never. Each firing sends what the rule sends in AWS: the `Scheduled Event` shape, or
the rule's fixed input (the check's `{"shopfn_retrain_check": true}`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from shop.ml.schedule import next_local_fire as next_fire
from shopfn.gateway import invoke
from shopfn.manifest import load_manifest

log = logging.getLogger("shopfn.scheduler")
RULE_ARN = "arn:aws:events:local:000000000000:rule/shopfn-nightly-retrain"
HOUSEKEEPING_RULE_ARN = "arn:aws:events:local:000000000000:rule/shopfn-housekeeping"
PAYMENT_EXPIRY_RULE_ARN = "arn:aws:events:local:000000000000:rule/shopfn-payment-expiry"
#: The fixed input of the retrain check rule (see functions/retrain/dispatch.py).
CHECK_EVENT: dict[str, Any] = {"shopfn_retrain_check": True}


def scheduled_event(now: datetime, rule_arn: str = RULE_ARN) -> dict[str, Any]:
    """The event EventBridge sends for a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "local",
        "resources": [rule_arn],
        "detail": {},
    }


class FunctionScheduler(threading.Thread):
    """A daemon thread that fires a function (retrain by default) on the schedule until stopped."""

    def __init__(
        self,
        schedule: str,
        function: str = "retrain",
        rule_arn: str = RULE_ARN,
        payload: dict[str, Any] | None = None,
        job: str = "nightly retrain",
    ) -> None:
        super().__init__(name=f"{function}-scheduler", daemon=True)
        next_fire(schedule, datetime.now(UTC))  # fail at start on a malformed schedule
        self.schedule = schedule
        self.function = function
        self.job = job  # what the console calls it
        self.rule_arn = rule_arn
        self.payload = payload  # the rule's fixed input; None sends the Scheduled Event
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        spec = load_manifest().get(self.function)
        while True:
            now = datetime.now(UTC)
            fire_at = next_fire(self.schedule, now)
            if fire_at is None:
                return
            log.info("next %s: %s", self.job, fire_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
            if self._stop_event.wait((fire_at - now).total_seconds()):
                return
            try:
                event = self.payload or scheduled_event(datetime.now(UTC), self.rule_arn)
                result = invoke(spec, dict(event))
                log.info("%s finished: %s", self.job, result)
            except Exception:  # keep the schedule alive; the run itself records failures
                log.exception("%s failed", self.job)


def _start(schedule: str, **job: Any) -> FunctionScheduler | None:
    """A started scheduler for `schedule` (None when it is `off`)."""
    if next_fire(schedule, datetime.now(UTC)) is None:
        return None
    scheduler = FunctionScheduler(schedule, **job)
    scheduler.start()
    return scheduler


def start_scheduler() -> FunctionScheduler | None:
    """Start the local schedule from RETRAIN_SCHEDULE (None when it is `off`)."""
    from shop.ml.config import get_ml_settings

    return _start(get_ml_settings().retrain_schedule)


def start_housekeeping_scheduler() -> FunctionScheduler | None:
    """Start the local purge schedule from HOUSEKEEPING_SCHEDULE (None when it is `off`)."""
    from shop.settings import get_settings

    return _start(
        get_settings().housekeeping_schedule,
        function="users",
        rule_arn=HOUSEKEEPING_RULE_ARN,
        job="housekeeping",
    )


def start_check_scheduler() -> FunctionScheduler | None:
    """Start the new-data and drift check from RETRAIN_CHECK_SCHEDULE (None when `off`)."""
    from shop.ml.config import get_ml_settings

    return _start(
        get_ml_settings().retrain_check_schedule,
        payload=CHECK_EVENT,
        job="check for new data and drift",
    )


def start_payment_expiry_scheduler() -> FunctionScheduler | None:
    """Start the expiry of unpaid orders from PAYMENT_EXPIRY_SCHEDULE (None when `off`)."""
    from shop.settings import get_settings

    return _start(
        get_settings().payment_expiry_schedule,
        function="payments",
        rule_arn=PAYMENT_EXPIRY_RULE_ARN,
        job="expiry of unpaid orders",
    )
