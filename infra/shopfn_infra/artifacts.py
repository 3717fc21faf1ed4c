"""The artifact store: model versions and their metadata, written by retrain, read by predict."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from shopfn_infra.config import StageConfig


def secure_bucket(scope: Construct, id: str, **kwargs: object) -> s3.Bucket:
    """A bucket that is encrypted, private and reachable over TLS only."""
    return s3.Bucket(
        scope,
        id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        **kwargs,  # type: ignore[arg-type]
    )


#: The object actions CDK's bucket grants write (named in the cdk-nag acknowledgments).
BUCKET_READ = ("s3:GetObject*", "s3:GetBucket*", "s3:List*")
BUCKET_WRITE = ("s3:DeleteObject*", "s3:Abort*")


class ArtifactStore(Construct):
    """A versioned bucket for ML artifacts, with server access logs in a second bucket."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        removal = RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY
        self.access_logs = secure_bucket(
            self,
            "AccessLogs",
            versioned=True,
            removal_policy=removal,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        self.bucket = secure_bucket(
            self,
            "Bucket",
            versioned=True,
            removal_policy=removal,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                # Old model versions stay for audits and rollbacks, not forever.
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(180))
            ],
        )
