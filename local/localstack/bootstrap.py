"""Create in LocalStack what AWS gets from the CDK app: the artifact bucket, the secrets and
the nightly retrain rule. Idempotent; honors AWS_ENDPOINT_URL (LocalStack, a moto server).

    AWS_ENDPOINT_URL=http://localhost:4566 python local/localstack/bootstrap.py
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import boto3

from shop.deploy_hooks import ensure_signing_keys

NIGHTLY = "cron(0 3 * * ? *)"  # the same schedule as the CDK app's rule


@dataclass(frozen=True)
class Resources:
    """Names of what the bootstrap created, for the APIs' environment."""

    bucket: str
    database_secret: str
    jwt_signing_secret: str
    jwt_public_secret: str
    openai_secret: str
    retrain_rule: str
    retrain_failures_queue: str


def names(prefix: str) -> Resources:
    return Resources(
        bucket=f"{prefix}-artifacts",
        database_secret=f"{prefix}/database",
        jwt_signing_secret=f"{prefix}/jwt-signing-key",
        jwt_public_secret=f"{prefix}/jwt-public-key",
        openai_secret=f"{prefix}/openai",
        retrain_rule=f"{prefix}-retrain-nightly",
        retrain_failures_queue=f"{prefix}-retrain-failures",
    )


def _client(service: str, endpoint_url: str | None) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url or os.environ.get("AWS_ENDPOINT_URL"))


def create_bucket(s3: Any, bucket: str) -> None:
    """Versioned, encrypted, private: the same settings as the CDK ArtifactStore."""
    existing = {entry["Name"] for entry in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        region = s3.meta.region_name
        extra = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=bucket, **extra)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def ensure_secret(secrets: Any, name: str, value: dict[str, Any], *, overwrite: bool) -> str:
    """The secret's ARN; created with `value`, or overwritten with it when `overwrite`."""
    try:
        arn = secrets.describe_secret(SecretId=name)["ARN"]
    except secrets.exceptions.ResourceNotFoundException:
        return str(secrets.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])
    if overwrite:
        secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(value))
    return str(arn)


def database_secret_value() -> dict[str, Any]:
    """RDS-shaped credentials for the compose PostgreSQL (from the same POSTGRES_* variables)."""
    return {
        "engine": "postgres",
        "host": os.environ.get("POSTGRES_HOST", "postgres"),
        "port": int(os.environ.get("POSTGRES_PORT", "5432")),
        "username": os.environ.get("POSTGRES_USER", "shopfn"),
        "password": os.environ.get("POSTGRES_PASSWORD", ""),
        "dbname": os.environ.get("POSTGRES_DB", "shopfn"),
    }


def create_schedule(events: Any, sqs: Any, lambda_: Any, resources: Resources) -> None:
    """The nightly rule; it targets the retrain Lambda when one is deployed (cdklocal)."""
    queue_url = sqs.create_queue(QueueName=resources.retrain_failures_queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=resources.retrain_rule,
        ScheduleExpression=NIGHTLY,
        State="ENABLED",
        Description="Retrain the churn and spend models every night",
    )
    retrain_name = resources.retrain_rule.removesuffix("-nightly")
    try:
        retrain_arn = lambda_.get_function(FunctionName=retrain_name)["Configuration"][
            "FunctionArn"
        ]
    except Exception:  # no retrain Lambda deployed: `shopfn serve` runs the schedule itself
        return
    events.put_targets(
        Rule=resources.retrain_rule,
        Targets=[
            {
                "Id": "retrain",
                "Arn": retrain_arn,
                "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 7200},
                "DeadLetterConfig": {"Arn": queue_arn},
            }
        ],
    )


def bootstrap(prefix: str = "shopfn-local", endpoint_url: str | None = None) -> Resources:
    """Create (or bring up to date) every resource; their names."""
    resources = names(prefix)
    create_bucket(_client("s3", endpoint_url), resources.bucket)
    secrets = _client("secretsmanager", endpoint_url)
    ensure_secret(secrets, resources.database_secret, database_secret_value(), overwrite=True)
    pending = {"pending": True}
    signing = ensure_secret(secrets, resources.jwt_signing_secret, pending, overwrite=False)
    public = ensure_secret(secrets, resources.jwt_public_secret, pending, overwrite=False)
    openai_key = os.environ.get("OPENAI_API_KEY", "")
    ensure_secret(secrets, resources.openai_secret, {"api_key": openai_key}, overwrite=True)
    # The same key setup the deploy hook does in AWS (generated once, public half mirrored).
    ensure_signing_keys(signing, public, client=secrets)
    create_schedule(
        _client("events", endpoint_url),
        _client("sqs", endpoint_url),
        _client("lambda", endpoint_url),
        resources,
    )
    return resources


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prefix", default=os.environ.get("SHOPFN_RESOURCE_PREFIX", "shopfn-local")
    )
    parser.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"))
    args = parser.parse_args(argv)
    print(json.dumps(asdict(bootstrap(args.prefix, args.endpoint_url)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
