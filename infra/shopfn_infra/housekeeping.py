"""The housekeeping schedule: an EventBridge rule runs the purge in the users function.

The users function owns sign-in state, and its handler turns a `Scheduled Event` into
`shop.services.housekeeping.purge_scheduled`, which stops a little before the function's
timeout; whatever is left is purged on the next run. A run that cannot be delivered, or that
fails, lands in a dead-letter queue that an alarm watches.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_destinations import SqsDestination
from constructs import Construct

from shopfn_infra.config import StageConfig

#: The function whose scheduled event runs the purge.
HOUSEKEEPING_FUNCTION = "users"


class HousekeepingSchedule(Construct):
    """Runs the purge on `config.housekeeping_schedule` (hourly by default)."""

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, users: lambda_.IFunction
    ) -> None:
        super().__init__(scope, id)
        self.dead_letters = sqs.Queue(
            self,
            "Failures",
            queue_name=f"{config.prefix}-housekeeping-failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # The schedule is the users function's only asynchronous caller. A failed purge is
        # not retried in a loop: the next scheduled run starts over anyway.
        lambda_.EventInvokeConfig(
            self,
            "AsyncRuns",
            function=users,
            retry_attempts=0,
            max_event_age=Duration.hours(1),
            on_failure=SqsDestination(self.dead_letters),
        )
        self.rule = events.Rule(
            self,
            "Schedule",
            rule_name=f"{config.prefix}-housekeeping",
            description="Purge expired tokens, keys, throttle counts, chats and old events",
            schedule=events.Schedule.expression(config.housekeeping_schedule),
            targets=[
                targets.LambdaFunction(
                    users,
                    retry_attempts=2,
                    max_event_age=Duration.hours(1),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
