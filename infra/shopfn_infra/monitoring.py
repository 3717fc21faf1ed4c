"""Alarms that page someone: API 5xx and p99 latency, Lambda throttles, failed retraining,
housekeeping and payment expiry runs."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from shopfn_infra.apis import RestApis
from shopfn_infra.config import StageConfig
from shopfn_infra.functions import ShopFunction

FIVE_MINUTES = Duration.minutes(5)


class Monitoring(Construct):
    """Every alarm notifies one SNS topic (e-mail from context `alarmEmail`)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        apis: RestApis,
        functions: dict[str, ShopFunction],
        retrain: ShopFunction | None,
        retrain_dead_letters: sqs.IQueue | None,
        housekeeping_dead_letters: sqs.IQueue | None = None,
        payment_expiry_dead_letters: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(
            self, "Alarms", topic_name=f"{config.prefix}-alarms", enforce_ssl=True
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

        for name, api in apis.apis.items():
            self._alarm(
                f"{name.title()}Api5xx",
                api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
                threshold=5,
                description=f"{name} API answered 5 or more 5xx in 5 minutes",
            )
            self._alarm(
                f"{name.title()}ApiP99Latency",
                api.metric_latency(period=FIVE_MINUTES, statistic="p99"),
                threshold=config.api_p99_latency_ms,
                evaluation_periods=3,
                description=f"{name} API p99 latency above {config.api_p99_latency_ms} ms",
            )
        for name, function in functions.items():
            self._alarm(
                f"{name.title()}Throttles",
                function.function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                threshold=1,
                description=f"{name} function throttled",
            )
        if retrain is not None:
            self._alarm(
                "RetrainErrors",
                retrain.function.metric_errors(period=Duration.hours(1), statistic="Sum"),
                threshold=1,
                description="A retraining run failed",
            )
        dead_letters = (
            ("Retrain", retrain_dead_letters, "A scheduled or queued retraining run"),
            ("Housekeeping", housekeeping_dead_letters, "A scheduled housekeeping purge"),
            ("PaymentExpiry", payment_expiry_dead_letters, "A scheduled expiry of unpaid orders"),
        )
        for name, queue, what in dead_letters:
            if queue is not None:
                self._alarm(
                    f"{name}DeadLetters",
                    queue.metric_approximate_number_of_messages_visible(
                        period=FIVE_MINUTES, statistic="Maximum"
                    ),
                    threshold=1,
                    description=f"{what} could not be delivered or failed",
                )

    def _alarm(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
