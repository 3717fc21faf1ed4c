"""The housekeeping schedule: an EventBridge rule runs the purge in the users function.

The users function owns sign-in state, and its handler turns a `Scheduled Event` into
`shop.services.housekeeping.purge_scheduled`, which stops a little before the function's
timeout; whatever is left is purged on the next run. A run that cannot be delivered, or that
fails, lands in a dead-letter queue that an alarm watches.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from shopfn_infra.config import StageConfig
from shopfn_infra.schedules import Schedule, add_schedule

#: The function whose scheduled event runs the purge.
HOUSEKEEPING_FUNCTION = "users"


class HousekeepingSchedule(Construct):
    """Runs the purge on `config.housekeeping_schedule` (hourly by default)."""

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, users: lambda_.IFunction
    ) -> None:
        super().__init__(scope, id)
        # The schedule is the users function's only asynchronous caller. A failed purge is
        # not retried at once: the next scheduled run starts over anyway.
        self.dead_letters, self.rule = add_schedule(
            self,
            users,
            Schedule(
                queue_name=f"{config.prefix}-housekeeping-failures",
                rule_id="Schedule",
                rule_name=f"{config.prefix}-housekeeping",
                description="Purge expired tokens, keys, throttle counts, chats and old events",
                expression=config.housekeeping_schedule,
                delivery_retries=2,
                run_retries=0,
                max_event_age=Duration.hours(1),
            ),
        )
