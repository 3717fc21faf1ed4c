"""PostgreSQL on RDS behind RDS Proxy, and the secrets the functions read."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from shopfn_infra.config import StageConfig
from shopfn_infra.log_groups import stage_log_group
from shopfn_infra.network import Network

POSTGRES_PORT = 5432
#: A pinned minor, the newest 16.x of aws-cdk-lib that AWS allows for new instances: a bare
#: "16" is deprecated for them. docs/deploy.md says how to upgrade it.
POSTGRES_VERSION = rds.PostgresEngineVersion.VER_16_13


def _placeholder_secret(
    scope: Construct, id: str, name: str, description: str
) -> secretsmanager.Secret:
    """A secret whose real value is written after deploy (by the deploy hook or an operator)."""
    return secretsmanager.Secret(
        scope,
        id,
        secret_name=name,
        description=description,
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template='{"pending": true}',  # noqa: S106 - not a password
            generate_string_key="nonce",
        ),
    )


class Database(Construct):
    """RDS PostgreSQL (credentials generated into Secrets Manager) reached through RDS Proxy.

    The proxy pools connections for many short-lived Lambdas; functions get the secret ARN
    (`DATABASE_SECRET_ARN`), and the deploy hook records the proxy endpoint in it.
    """

    def __init__(self, scope: Construct, id: str, *, config: StageConfig, network: Network) -> None:
        super().__init__(scope, id)
        self.security_group = ec2.SecurityGroup(
            self, "DbSg", vpc=network.vpc, description="shopfn PostgreSQL", allow_all_outbound=False
        )
        identifier = f"{config.prefix}-postgres"
        # Named up front (instead of cloudwatch_logs_retention, which adds a custom-resource
        # Lambda): RDS writes into this group, so it has a retention from the start.
        postgres_logs = stage_log_group(
            self,
            "PostgresLogs",
            config=config,
            name=f"/aws/rds/instance/{identifier}/postgresql",
        )
        self.instance = rds.DatabaseInstance(
            self,
            "Postgres",
            instance_identifier=identifier,
            engine=rds.DatabaseInstanceEngine.postgres(version=POSTGRES_VERSION),
            instance_type=ec2.InstanceType.of(
                ec2.InstanceClass.BURSTABLE4_GRAVITON,
                ec2.InstanceSize.MEDIUM if config.is_prod else ec2.InstanceSize.MICRO,
            ),
            vpc=network.vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[self.security_group],
            credentials=rds.Credentials.from_generated_secret(
                "shopfn", secret_name=f"{config.prefix}/database"
            ),
            database_name="shopfn",
            port=POSTGRES_PORT,
            storage_encrypted=True,
            allocated_storage=20,
            max_allocated_storage=200,
            multi_az=config.is_prod,
            backup_retention=Duration.days(14 if config.is_prod else 3),
            deletion_protection=config.is_prod,
            removal_policy=RemovalPolicy.SNAPSHOT if config.is_prod else RemovalPolicy.DESTROY,
            cloudwatch_logs_exports=["postgresql"],
            auto_minor_version_upgrade=False,  # the template says which minor runs
            enable_performance_insights=config.is_prod,
        )
        self.instance.node.add_dependency(postgres_logs)
        assert self.instance.secret is not None
        self.secret = self.instance.secret
        self.instance.add_rotation_single_user(automatically_after=Duration.days(30))

        self.proxy_security_group = ec2.SecurityGroup(
            self,
            "ProxySg",
            vpc=network.vpc,
            description="shopfn RDS Proxy",
            allow_all_outbound=False,
        )
        self.proxy = self.instance.add_proxy(
            "Proxy",
            secrets=[self.secret],
            vpc=network.vpc,
            vpc_subnets=network.data_subnets,
            security_groups=[self.proxy_security_group],
            require_tls=True,
            iam_auth=False,
            idle_client_timeout=Duration.minutes(10),
        )
        self.security_group.add_ingress_rule(
            self.proxy_security_group, ec2.Port.tcp(POSTGRES_PORT), "RDS Proxy to PostgreSQL"
        )
        self.proxy_security_group.add_egress_rule(
            self.security_group, ec2.Port.tcp(POSTGRES_PORT), "RDS Proxy to PostgreSQL"
        )
        self.proxy_security_group.add_ingress_rule(
            network.functions_security_group,
            ec2.Port.tcp(POSTGRES_PORT),
            "shopfn functions to RDS Proxy",
        )

        self.jwt_signing_secret = _placeholder_secret(
            self,
            "JwtSigningKey",
            f"{config.prefix}/jwt-signing-key",
            "RS256 key pair that signs access tokens; generated by the deploy hook",
        )
        self.jwt_verify_secret = _placeholder_secret(
            self,
            "JwtVerifyKey",
            f"{config.prefix}/jwt-public-key",
            "Public half of the signing key: what functions that only verify tokens read",
        )
        self.openai_secret = _placeholder_secret(
            self,
            "OpenAiKey",
            f"{config.prefix}/openai",
            'OpenAI API key for the support assistant: set {"api_key": "..."} after deploy',
        )
        self.stripe_secret = _placeholder_secret(
            self,
            "StripeKeys",
            f"{config.prefix}/stripe",
            'Stripe keys for payments: set {"secret_key": "sk_...", "webhook_secret": '
            '"whsec_...", "publishable_key": "pk_..."} after deploy',
        )
        self.dashboard_proxy_secret = secretsmanager.Secret(
            self,
            "DashboardProxySecret",
            secret_name=f"{config.prefix}/dashboard-proxy",
            description="Shared by the dashboard and the users and support functions: lets "
            "the dashboard forward its shoppers' addresses for the sign-in and chat throttles",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
