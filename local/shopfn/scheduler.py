"""The local stand-in for the EventBridge rules: RETRAIN_SCHEDULE fires the retrain function,
RETRAIN_CHECK_SCHEDULE its new-data and drift check, HOUSEKEEPING_SCHEDULE the users
function's purge, PAYMENT_EXPIRY_SCHEDULE the payments function's expiry of unpaid orders.

`HH:MM` fires daily at that UTC time, `every:SECONDS` at a fixed interval (demos, tests),
`off` never. Each firing sends what the rule sends in AWS: the `Scheduled Event` shape, or
the rule's fixed input (the check's `{"shopfn_retrain_check": true}`).
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shop.logging import failure_reason, log_failure
from shop.ml.schedule import next_local_fire as next_fire
from shopfn.gateway import invoke
from shopfn.job_report import (
    Line,
    describe_check,
    describe_expiry,
    describe_housekeeping,
    describe_retrain,
    describe_run,
)
from shopfn.manifest import load_manifest

log = logging.getLogger("shopfn.scheduler")
RULE_ARN = "arn:aws:events:local:000000000000:rule/shopfn-nightly-retrain"
HOUSEKEEPING_RULE_ARN = "arn:aws:events:local:000000000000:rule/shopfn-housekeeping"
PAYMENT_EXPIRY_RULE_ARN = "arn:aws:events:local:000000000000:rule/shopfn-payment-expiry"
#: The fixed input of the retrain check rule (see functions/retrain/dispatch.py).
CHECK_EVENT: dict[str, Any] = {"shopfn_retrain_check": True}
#: Seconds between two looks at a training run the check started.
FOLLOW_SECONDS = 5.0
#: A job's result in the console's words (None: it did nothing worth a line).
Describe = Callable[[dict[str, Any]], Line | None]


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
    """A daemon thread that fires a function (retrain by default) on the schedule until stopped.

    After each firing `describe` turns the function's result into the console's one line
    (`shopfn.job_report`); it returns None when the job did nothing, and then nothing is
    printed. A training run the job started in the background (the check's, `follow_runs`) is
    followed to its end, which gets a line too.
    """

    def __init__(
        self,
        schedule: str,
        function: str = "retrain",
        rule_arn: str = RULE_ARN,
        payload: dict[str, Any] | None = None,
        job: str = "nightly retrain",
        describe: Describe = describe_retrain,
        follow_runs: bool = False,
    ) -> None:
        super().__init__(name=f"{function}-scheduler", daemon=True)
        next_fire(schedule, datetime.now(UTC))  # fail at start on a malformed schedule
        self.schedule = schedule
        self.function = function
        self.job = job  # what the console calls it
        self.rule_arn = rule_arn
        self.payload = payload  # the rule's fixed input; None sends the Scheduled Event
        self.describe = describe
        self.follow_runs = follow_runs  # the result's `run_id` is a run started in the background
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        while True:
            now = datetime.now(UTC)
            fire_at = next_fire(self.schedule, now)
            if fire_at is None:
                return
            # DEBUG: an interval schedule would print this every few minutes.
            log.debug("next %s: %s", self.job, fire_at.strftime("%Y-%m-%d %H:%M:%S UTC"))
            if self._stop_event.wait((fire_at - now).total_seconds()):
                return
            result = self.fire()
            if self.follow_runs and result and result.get("run_id") is not None:
                self.follow_run(int(result["run_id"]))

    def fire(self) -> dict[str, Any] | None:
        """Invoke the function once and say what it did; its result (None when it failed)."""
        try:
            event = self.payload or scheduled_event(datetime.now(UTC), self.rule_arn)
            result = invoke(load_manifest().get(self.function), dict(event))
        except Exception as exc:  # keep the schedule alive; the run itself records failures
            log_failure(
                log,
                f"{self.job.capitalize()} did not finish: {failure_reason(exc)}. "
                "It runs again at its next time.",
                exc,
            )
            return None
        line = self.describe(result)
        if line is not None:
            log.log(*line)
        return result

    def follow_run(self, run_id: int, poll_seconds: float = FOLLOW_SECONDS) -> None:
        """Wait for training run `run_id` to end (or the stop), then say how it ended."""
        from shop.db import session_scope
        from shop.ml.runs import run_outcome

        while not self._stop_event.wait(poll_seconds):
            try:
                with session_scope() as session:
                    outcome = run_outcome(session, run_id)
            except Exception as exc:  # a busy database: look again
                log.debug("could not read run %s: %s", run_id, failure_reason(exc))
                continue
            if outcome["status"] not in ("queued", "running"):
                log.log(*describe_run(outcome, outcome["trigger"]))
                return


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
        describe=describe_housekeeping,
    )


def start_check_scheduler() -> FunctionScheduler | None:
    """Start the new-data and drift check from RETRAIN_CHECK_SCHEDULE (None when `off`)."""
    from shop.ml.config import get_ml_settings

    return _start(
        get_ml_settings().retrain_check_schedule,
        payload=CHECK_EVENT,
        job="check for new data and drift",
        describe=describe_check,
        follow_runs=True,
    )


def start_payment_expiry_scheduler() -> FunctionScheduler | None:
    """Start the expiry of unpaid orders from PAYMENT_EXPIRY_SCHEDULE (None when `off`)."""
    from shop.settings import get_settings

    settings = get_settings()
    return _start(
        settings.payment_expiry_schedule,
        function="payments",
        rule_arn=PAYMENT_EXPIRY_RULE_ARN,
        job="expiry of unpaid orders",
        describe=functools.partial(describe_expiry, hold_minutes=settings.payment_hold_minutes),
    )
