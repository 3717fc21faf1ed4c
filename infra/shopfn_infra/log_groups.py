"""CloudWatch log groups with the stage's retention, created up front by the stack."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct

from shopfn_infra.config import StageConfig


def stage_log_group(
    scope: Construct, id: str, *, config: StageConfig, name: str | None = None
) -> logs.LogGroup:
    """A log group kept for the stage's retention and deleted with the stack.

    Made by the stack instead of by the service on first write, so it never lives forever.
    """
    return logs.LogGroup(
        scope,
        id,
        log_group_name=name,
        retention=config.log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
