"""A function run on an EventBridge schedule, with a dead-letter queue for failed runs.

Resources are added to the caller's construct (no construct of its own), so their logical
ids, and so the deployed rule and queue, stay where each schedule first put them.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_destinations import SqsDestination
from constructs import Construct


@dataclass(frozen=True)
class Schedule:
    """What a scheduled run is called, when it fires and how often a failure is retried."""

    queue_name: str
    rule_id: str
    rule_name: str
    description: str
    expression: str
    delivery_retries: int  # EventBridge's, when the function can't be reached
    run_retries: int  # Lambda's, when an asynchronous run fails
    max_event_age: Duration


def add_schedule(
    scope: Construct, function: lambda_.IFunction, schedule: Schedule
) -> tuple[sqs.Queue, events.Rule]:
    """The rule that fires `function`, and the queue where undelivered or failed runs land."""
    dead_letters = sqs.Queue(
        scope,
        "Failures",
        queue_name=schedule.queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    lambda_.EventInvokeConfig(
        scope,
        "AsyncRuns",
        function=function,
        retry_attempts=schedule.run_retries,
        max_event_age=schedule.max_event_age,
        on_failure=SqsDestination(dead_letters),
    )
    rule = events.Rule(
        scope,
        schedule.rule_id,
        rule_name=schedule.rule_name,
        description=schedule.description,
        schedule=events.Schedule.expression(schedule.expression),
        targets=[
            targets.LambdaFunction(
                function,
                retry_attempts=schedule.delivery_retries,
                max_event_age=schedule.max_event_age,
                dead_letter_queue=dead_letters,
            )
        ],
    )
    return dead_letters, rule
