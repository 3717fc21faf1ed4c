"""Reading a Secrets Manager secret named by a *_SECRET_ARN setting (AWS, or LocalStack)."""

from __future__ import annotations


def secret_string(secret_arn: str) -> str:
    """The secret's current SecretString; boto3 honours AWS_ENDPOINT_URL for LocalStack."""
    import boto3

    return boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
