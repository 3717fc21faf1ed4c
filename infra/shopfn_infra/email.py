"""Campaign e-mails through Amazon SES: sending only, and only as the shop's own identity."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from shopfn_infra.config import StageConfig


def allow_sending(
    scope: Construct, principal: iam.IGrantable, config: StageConfig
) -> dict[str, str]:
    """Let `principal` send from the configured identity; the environment that turns it on.

    Nothing at all without `sesFromAddress`: the messages then stay in the outbox table.
    """
    identity = config.sending_identity
    if identity is None:
        return {}
    identity_arn = Stack.of(scope).format_arn(
        service="ses", resource="identity", resource_name=identity
    )
    iam.Grant.add_to_principal(
        actions=["ses:SendEmail"],
        grantee=principal,
        resource_arns=[identity_arn],
        conditions={"StringEquals": {"ses:FromAddress": config.ses_from_address}},
    )
    return {"SES_FROM_ADDRESS": str(config.ses_from_address)}
