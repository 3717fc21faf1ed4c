"""The payment expiry schedule: an EventBridge rule expires unpaid orders in the payments
function.

The payments function's handler turns a `Scheduled Event` into
`shop.services.payment_expiry.expire_scheduled`: each unpaid order past its hold
(PAYMENT_HOLD_MINUTES) has its PaymentIntent cancelled and its stock returned, one short
transaction per order, stopping a little before the function's timeout. A run that cannot be
delivered, or that fails, lands in a dead-letter queue that an alarm watches.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from shopfn_infra.config import StageConfig
from shopfn_infra.schedules import Schedule, add_schedule

#: The function whose scheduled event expires unpaid orders.
PAYMENT_EXPIRY_FUNCTION = "payments"


class PaymentExpirySchedule(Construct):
    """Expires unpaid orders on `config.payment_expiry_schedule` (every 5 minutes)."""

    def __init__(
        self, scope: Construct, id: str, *, config: StageConfig, payments: lambda_.IFunction
    ) -> None:
        super().__init__(scope, id)
        # A failed run is not retried at once: the next run finds the same orders anyway.
        self.dead_letters, self.rule = add_schedule(
            self,
            payments,
            Schedule(
                queue_name=f"{config.prefix}-payment-expiry-failures",
                rule_id="Schedule",
                rule_name=f"{config.prefix}-payment-expiry",
                description="Expire unpaid orders past their hold: cancel the payment, "
                "return the stock",
                expression=config.payment_expiry_schedule,
                delivery_retries=2,
                run_retries=0,
                max_event_age=Duration.minutes(10),
            ),
        )
