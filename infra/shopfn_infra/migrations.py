"""Migrations on every deploy: a custom resource calls `shop.deploy_hooks.handler`."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from shopfn_infra.config import StageConfig
from shopfn_infra.data import Database
from shopfn_infra.functions import (
    RUNTIME,
    STATEMENT_TIMEOUT_SECONDS,
    SharedLayer,
    lambda_logs_and_role,
)
from shopfn_infra.network import Network

HOOK_HANDLER = "shop.deploy_hooks.handler"


class SchemaMigrations(Construct):
    """Before functions serve the new code: keys in place, proxy recorded, schema upgraded.

    The hook's code is the shared layer (the same `shop.migrate` the functions ship), so a
    new layer version is what makes CloudFormation send an Update and re-run migrations.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        layer: SharedLayer,
        network: Network,
        database: Database,
    ) -> None:
        super().__init__(scope, id)
        function_name = f"{config.prefix}-deploy-hooks"
        log_group, role = lambda_logs_and_role(
            self,
            function_name=function_name,
            config=config,
            role_description="shopfn deploy hook: migrate, write signing keys, record the proxy",
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description="CloudFormation custom resource: database migrations and key setup",
            runtime=RUNTIME,
            handler=HOOK_HANDLER,
            # The handler lives in the layer; the function's own code is only this marker.
            code=lambda_.Code.from_inline("# shopfn deploy hook: see shop/deploy_hooks.py\n"),
            layers=[layer.layer],
            memory_size=512,
            timeout=Duration.minutes(5),
            architecture=lambda_.Architecture.X86_64,
            tracing=lambda_.Tracing.ACTIVE,
            vpc=network.vpc,
            vpc_subnets=network.app_subnets,
            security_groups=[network.functions_security_group],
            role=role,
            log_group=log_group,
            environment={
                "ENVIRONMENT": config.stage,
                "DATABASE_SECRET_ARN": database.secret.secret_arn,
                "POWERTOOLS_SERVICE_NAME": "deploy-hooks",
            },
        )
        database.secret.grant_read(role)
        database.secret.grant_write(role)  # records proxy_host beside the credentials
        for secret in (database.jwt_signing_secret, database.jwt_verify_secret):
            secret.grant_read(role)
            secret.grant_write(role)
        self.resource = CustomResource(
            self,
            "Migrate",
            service_token=self.function.function_arn,
            resource_type="Custom::ShopfnMigrations",
            properties={
                "DatabaseSecretArn": database.secret.secret_arn,
                "ProxyEndpoint": database.proxy.endpoint,
                "JwtSigningSecretArn": database.jwt_signing_secret.secret_arn,
                "JwtVerifySecretArn": database.jwt_verify_secret.secret_arn,
                "LayerVersionArn": layer.layer.layer_version_arn,
                "StatementTimeoutSeconds": str(STATEMENT_TIMEOUT_SECONDS),
            },
        )
        self.resource.node.add_dependency(database.instance)
        self.resource.node.add_dependency(database.proxy)
