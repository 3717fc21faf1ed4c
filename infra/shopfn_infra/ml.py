"""Retraining on a schedule: the nightly rule with retries and a dead-letter queue for
failures, and the 15-minute rule that runs the new-data and drift check."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from shopfn_infra.config import StageConfig
from shopfn_infra.schedules import Schedule, add_schedule

RETRAIN_TIMEOUT = Duration.minutes(15)  # scheduled and queued runs; its HTTP path answers at once
#: The fixed input of the check rule (functions/retrain/dispatch.py CHECK_EVENT_KEY).
CHECK_EVENT = {"shopfn_retrain_check": True}


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
        # Asynchronous runs (the schedule, POST /ml/retrain) that fail end in the same queue.
        self.dead_letters, self.rule = add_schedule(
            self,
            retrain,
            Schedule(
                queue_name=f"{config.prefix}-retrain-failures",
                rule_id="Nightly",
                rule_name=rule_name,
                description="Retrain the churn and spend models every night",
                expression=config.retrain_schedule,
                delivery_retries=3,
                run_retries=1,
                max_event_age=Duration.hours(2),
            ),
        )
        # The check is cheap and runs again in 15 minutes: no retry, and an undelivered
        # check is dropped after one period rather than run late.
        self.check_rule = events.Rule(
            self,
            "Check",
            rule_name=f"{config.prefix}-retrain-check",
            description="Queue a retraining run when new data or drift warrants one",
            schedule=events.Schedule.expression(config.retrain_check_schedule),
            targets=[
                targets.LambdaFunction(
                    retrain,
                    event=events.RuleTargetInput.from_object(CHECK_EVENT),
                    retry_attempts=0,
                    max_event_age=Duration.minutes(15),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
