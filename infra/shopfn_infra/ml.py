"""Nightly retraining: an EventBridge rule with retries, and a dead-letter queue for failures."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_lambda_destinations import SqsDestination
from constructs import Construct

from shopfn_infra.config import StageConfig

RETRAIN_TIMEOUT = Duration.minutes(15)  # scheduled and queued runs; its HTTP path answers at once


class RetrainSchedule(Construct):
    """Runs retrain nightly; a run EventBridge cannot deliver, or that fails, lands in the DLQ."""

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, retrain: lambda_.Function
    ) -> None:
        super().__init__(scope, id)
        rule_name = f"{config.prefix}-retrain-nightly"
        # GET /ml/retrain/schedule says what this rule does, read from the function's settings.
        retrain.add_environment("RETRAIN_RULE_EXPRESSION", config.retrain_schedule)
        retrain.add_environment("RETRAIN_RULE_NAME", rule_name)
        self.dead_letters = sqs.Queue(
            self,
            "Failures",
            queue_name=f"{config.prefix}-retrain-failures",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # Asynchronous runs (the schedule, POST /ml/retrain) that fail end in the same queue.
        lambda_.EventInvokeConfig(
            self,
            "AsyncRuns",
            function=retrain,
            retry_attempts=1,
            max_event_age=Duration.hours(2),
            on_failure=SqsDestination(self.dead_letters),
        )
        self.rule = events.Rule(
            self,
            "Nightly",
            rule_name=rule_name,
            description="Retrain the churn and spend models every night",
            schedule=events.Schedule.expression(config.retrain_schedule),
            targets=[
                targets.LambdaFunction(
                    retrain,
                    retry_attempts=3,
                    max_event_age=Duration.hours(2),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
