"""cdk-nag findings accepted on purpose, each on the narrowest construct and with its reason.

Everything not listed here fails `cdk synth` (the test suite proves there is nothing else).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

from shopfn_infra.config import StageConfig

AWS = "AwsSolutions::AwsSolutions-"
SERVERLESS = "Serverless::Serverless-"

LAMBDA_VPC_POLICY = (
    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaVPCAccessExecutionRole]"
)
PINNED_RUNTIME = (
    "python3.12 is pinned on purpose: the layer's wheels are built for CPython 3.12, so a "
    "runtime upgrade is a deliberate change (rebuild and retest), never a silent one"
)
XRAY_AND_ENI = (
    "X-Ray PutTraceSegments/PutTelemetryRecords and the VPC ENI actions support no "
    "resource-level permissions; CDK scopes everything else to named resources"
)


def acknowledge(scope: IConstruct, reason: str, *rules: str) -> None:
    """Accept `rules` (ids without their pack prefix, e.g. `AwsSolutions-RDS11`) on `scope`."""
    acks = []
    for rule in rules:
        prefix = SERVERLESS if rule.startswith("Serverless-") else AWS
        rule_id = rule.removeprefix("Serverless-").removeprefix("AwsSolutions-")
        acks.append(Acknowledgment(id=f"{prefix}{rule_id}", reason=reason))
    Validations.of(scope).acknowledge(*acks)


def lambda_function(scope: IConstruct, *, asynchronous_failures_handled: bool) -> None:
    """What every shopfn Lambda accepts."""
    acknowledge(
        scope,
        "AWSLambdaVPCAccessExecutionRole is AWS's minimal policy for a function in a VPC "
        "(ENIs and its own logs); the rest of each role is written per function",
        LAMBDA_VPC_POLICY,
    )
    acknowledge(scope, XRAY_AND_ENI, "IAM5[Resource::*]")
    acknowledge(scope, PINNED_RUNTIME, "L1", "Serverless-LambdaLatestVersion")
    if not asynchronous_failures_handled:
        acknowledge(
            scope,
            "invoked synchronously (API Gateway or CloudFormation): the caller receives the "
            "error, a dead-letter queue only applies to asynchronous invocations",
            "Serverless-LambdaDLQ",
        )
    else:
        acknowledge(
            scope,
            "asynchronous failures go to an on-failure destination (a failures queue), "
            "the successor of a function dead-letter queue",
            "Serverless-LambdaDLQ",
        )


def bucket_grants(scope: IConstruct, bucket_logical: str, *actions: str) -> None:
    acknowledge(
        scope,
        "CDK's bucket grant: object actions on this one bucket's keys only (model artifacts "
        "have open-ended names), nothing on any other bucket",
        f"IAM5[Resource::<{bucket_logical}.Arn>/*]",
        *(f"IAM5[Action::{action}]" for action in actions),
    )


def data(scope: IConstruct, config: StageConfig) -> None:
    acknowledge(
        scope,
        "PostgreSQL listens on its standard port in isolated subnets; only the RDS Proxy's "
        "security group may connect, so an unusual port would add no protection",
        "RDS11",
    )
    if not config.is_prod:
        acknowledge(scope, "dev is single-AZ to save cost; prod is multi-AZ", "RDS3")
        acknowledge(scope, "dev databases are disposable; prod has deletion protection", "RDS10")


def jwt_key_secret(secret: IConstruct) -> None:
    acknowledge(
        secret,
        "rotating the token signing key would sign every user out at once; it is rotated "
        "by the runbook in docs/deploy.md",
        "SMG4",
    )


def openai_secret(secret: IConstruct) -> None:
    acknowledge(
        secret,
        "a third-party API key: rotated at OpenAI, then written here by an operator "
        "(docs/deploy.md)",
        "SMG4",
    )


def stripe_secret(secret: IConstruct) -> None:
    acknowledge(
        secret,
        "third-party API keys: rolled in Stripe's dashboard, then written here by an operator "
        "(docs/deploy.md)",
        "SMG4",
    )


def apis(scope: IConstruct) -> None:
    acknowledge(
        scope,
        "authentication is the platform's own RS256 JWT, checked in each function (docs/api.md "
        "has public routes such as the catalog and sign-in); there is no Cognito pool",
        "APIG4",
        "COG4",
    )
    acknowledge(
        scope,
        "every function validates its requests with pydantic and answers problem+json; an "
        "API Gateway model would duplicate that contract and drift from it",
        "APIG2",
    )
    acknowledge(
        scope,
        "a WAF web ACL is an account-level choice with its own cost; each stage is throttled "
        "and sign-in is rate limited in the application (docs/deploy.md shows how to attach one)",
        "APIG3",
    )
    acknowledge(
        scope,
        "AmazonAPIGatewayPushToCloudWatchLogs is the AWS policy API Gateway needs to write "
        "execution logs for the account",
        "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonAPIGatewayPushToCloudWatchLogs]",
    )


def retrain_failures(queue: IConstruct, runs: str = "retraining runs") -> None:
    acknowledge(
        queue,
        f"this queue is itself the dead-letter queue of {runs}; its messages are "
        "inspected by a person (an alarm fires on the first one)",
        "SQS3",
        "Serverless-SQSRedrivePolicy",
    )


def dashboard(scope: IConstruct, proxy_secret: IConstruct) -> None:
    acknowledge(
        proxy_secret,
        "read once per dashboard task and function container; rotate it by the runbook in "
        "docs/deploy.md (a new value, then restart the dashboard)",
        "SMG4",
    )
    acknowledge(
        scope,
        "the dashboard's load balancer is public by design; tasks stay in private subnets "
        "and accept traffic from the load balancer only",
        "EC23",
    )
    acknowledge(
        scope,
        "the environment holds the public API URLs and the stage name, no secret",
        "ECS2",
    )
    acknowledge(
        scope,
        "ecr:GetAuthorizationToken (pulling the dashboard image) has no resource-level "
        "permissions; log writes are scoped to the dashboard's log group",
        "IAM5[Resource::*]",
    )


def retrain_task(scope: IConstruct, bucket_logical: str, *bucket_actions: str) -> None:
    acknowledge(
        scope,
        "the environment holds the stage, the bucket name and the database secret's ARN "
        "(never its value); the task reads the secret itself at start",
        "ECS2",
    )
    acknowledge(
        scope,
        "ecr:GetAuthorizationToken (pulling the retrain image) has no resource-level "
        "permissions; log writes are scoped to the task's log group",
        "IAM5[Resource::*]",
    )
    bucket_grants(scope, bucket_logical, *bucket_actions)
