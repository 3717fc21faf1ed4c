"""cfn-lint findings accepted on purpose, each on the narrowest resource and with its reason.

They are written into the template where cfn-lint reads them (`Metadata: cfn-lint: config:
ignore_checks`), each rule's reason beside it (`Metadata: cfn-lint: reasons`), so a plain
`cfn-lint` on cdk.out/ and tests/infra/test_cfn_lint.py agree. Anything else fails the tests.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnResource, Stack
from constructs import IConstruct

from shopfn_infra.config import StageConfig

KEY = "cfn-lint"


def _with(entry: dict[str, Any] | None, reason: str, rules: tuple[str, ...]) -> dict[str, Any]:
    """`entry` (a `cfn-lint` metadata block) with `rules` ignored for `reason`."""
    if not reason.strip() or not rules:
        raise ValueError("a cfn-lint suppression needs rule ids and a reason")
    entry = dict(entry or {})
    config = dict(entry.get("config", {}))
    checks = list(config.get("ignore_checks", []))
    reasons = dict(entry.get("reasons", {}))
    for rule in rules:
        if rule not in checks:
            checks.append(rule)
        reasons[rule] = reason
    return {**entry, "config": {**config, "ignore_checks": checks}, "reasons": reasons}


def accept(scope: IConstruct, reason: str, *rules: str) -> None:
    """Accept `rules` (e.g. `WS1002`) on one resource: `scope` itself or its default child."""
    resource = scope if isinstance(scope, CfnResource) else scope.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{scope.node.path} is not one CloudFormation resource")
    resource.add_metadata(KEY, _with(resource.get_metadata(KEY), reason, rules))


def accept_in_template(stack: Stack, reason: str, *rules: str) -> None:
    """Accept `rules` for every resource of the stack: only for what CDK itself writes."""
    metadata = dict(stack.template_options.metadata or {})
    metadata[KEY] = _with(metadata.get(KEY), reason, rules)
    stack.template_options.metadata = metadata


def template(stack: Stack, config: StageConfig) -> None:
    accept_in_template(
        stack,
        "CDK writes DependsOn for construct dependencies (a function on its role and policy, "
        "the migrations on the whole proxy construct) even where a Ref or GetAtt already "
        "orders the same resource: redundant, harmless, and not ours to write",
        "W3005",
    )
    if config.availability_zones:
        accept_in_template(
            stack,
            "the stage names its availability zones on purpose (context availabilityZones, "
            "docs/deploy.md); by default they come from the account at deploy time",
            "W3010",
        )


def vpc_default_security_group(handler: CfnResource) -> None:
    accept(
        handler,
        "CDK's own function that empties the VPC's default security group: it runs only on "
        "deploys that create or replace the VPC, makes a few EC2 calls whose errors reach "
        "CloudFormation and its log group; a trace would show nothing more",
        "WS1000",
    )


RETRAIN_TRIGGERS = (
    "one retraining job with two triggers on purpose: POST /ml/retrain (API Gateway) and the "
    "nightly rule (EventBridge); splitting it would duplicate the image"
)
HOUSEKEEPING_TRIGGERS = (
    "the users function owns sign-in state, so it also runs the hourly purge of it "
    "(EventBridge) beside its API (API Gateway); a second function would duplicate its code"
)
PAYMENT_EXPIRY_TRIGGERS = (
    "the payments function owns the payment flow, so it also expires unpaid orders on a "
    "schedule (EventBridge) beside its API (API Gateway); a second function would duplicate "
    "its code"
)


def scheduled(function: IConstruct, rule: IConstruct, failures: IConstruct, why: str) -> None:
    """What a function run by `schedules.add_schedule` as well as by its API accepts."""
    accept(function, why, "WS1002")
    permissions = [
        child
        for child in rule.node.find_all()
        if isinstance(child, CfnResource) and child.cfn_resource_type == "AWS::Lambda::Permission"
    ]
    for permission in permissions:
        accept(
            permission,
            "the function's asynchronous runs have an EventInvokeConfig (AsyncRuns, beside this "
            "rule) whose on-failure destination is the failures queue; the rule only sees it "
            "when both name the function alike, and CDK writes GetAtt Arn here and Ref there",
            "ES1007",
        )
    accept(
        failures,
        "this queue is itself the dead-letter queue of the scheduled runs (rule target and "
        "on-failure destination), read by a person after an alarm; it has no queue to redrive to",
        "ES6000",
    )
