"""The shared layer and one Lambda function per manifest entry."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from shopfn.build import LAYER_ZIP
from shopfn.manifest import FunctionSpec
from shopfn_infra.artifacts import ArtifactStore
from shopfn_infra.config import ROOT, StageConfig
from shopfn_infra.data import Database
from shopfn_infra.log_groups import stage_log_group
from shopfn_infra.network import Network
from shopfn_infra.permissions import Grant, grants_for

RUNTIME = lambda_.Runtime.PYTHON_3_12  # the wheels in build/ are cp312
API_GATEWAY_LIMIT_SECONDS = 29
#: Image builds start from the repository root; none of this belongs in an image context.
IMAGE_CONTEXT_EXCLUDES = [
    ".git",
    ".venv",
    ".tools",
    "node_modules",
    "cdk.out",
    "build",
    ".data",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "tests",
    "**/__pycache__",
    "*.pyc",
]

#: Seconds a statement may run on the database for the API functions (they time out at 20 s,
#: so a stuck statement answers 503 first). The deploy hook sets it on the database role.
STATEMENT_TIMEOUT_SECONDS = 15


class SharedLayer(Construct):
    """The `shop` package and its dependencies, built by `shopfn build` into build/."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(_artifact(config.build_dir / LAYER_ZIP))),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="shopfn shared layer: the shop package and its locked dependencies",
        )


def _artifact(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make build` (shopfn build) first")
    return path


def lambda_logs_and_role(
    scope: Construct, *, function_name: str, config: StageConfig, role_description: str
) -> tuple[logs.LogGroup, iam.Role]:
    """The log group (named as Lambda names it) and the VPC execution role of one function.

    Created as `Logs` and `Role` in `scope`; grants are added by the caller, nothing more.
    """
    log_group = stage_log_group(scope, "Logs", config=config, name=f"/aws/lambda/{function_name}")
    role = iam.Role(
        scope,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description,
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaVPCAccessExecutionRole"
            )
        ],
    )
    return log_group, role


def _granted_secrets(
    grants: frozenset[Grant], database: Database
) -> dict[str, secretsmanager.ISecret]:
    """The third-party secrets a function's grants let it read, by the variable naming each."""
    secrets: dict[str, secretsmanager.ISecret] = {}
    if Grant.OPENAI_KEY in grants:
        secrets["OPENAI_SECRET_ARN"] = database.openai_secret
    if Grant.DASHBOARD_PROXY in grants:
        secrets["DASHBOARD_PROXY_SECRET_ARN"] = database.dashboard_proxy_secret
    if Grant.STRIPE_KEYS in grants:
        secrets["STRIPE_SECRET_ARN"] = database.stripe_secret
    return secrets


def is_image(spec: FunctionSpec) -> bool:
    """Functions whose folder holds a Dockerfile deploy as container images."""
    return (ROOT / "functions" / spec.name / "Dockerfile").exists()


class ShopFunction(Construct):
    """One manifest function: its code, the layer, its own role, logs and environment."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        spec: FunctionSpec,
        config: StageConfig,
        layer: SharedLayer,
        network: Network,
        database: Database,
        artifacts: ArtifactStore,
        timeout: Duration | None = None,
        reserved_concurrency: int | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.spec = spec
        self.function_name = f"{config.prefix}-{spec.name}"
        self.grants = grants_for(spec.name)
        log_group, role = lambda_logs_and_role(
            self,
            function_name=self.function_name,
            config=config,
            role_description=f"{self.function_name}: only what this function uses",
        )
        environment = {
            "ENVIRONMENT": config.stage,
            "DATABASE_SECRET_ARN": database.secret.secret_arn,
            "DB_POOL_SIZE": "2",  # one request at a time per container; the proxy pools
            # Nothing that makes RDS Proxy pin a session (docs/deploy.md): no named prepared
            # statements, and the statement timeout is the database role's (deploy hook).
            "DB_PREPARE_THRESHOLD": "0",
            "DB_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT_SECONDS),
            "DB_STATEMENT_TIMEOUT_SCOPE": "role",
            "POWERTOOLS_SERVICE_NAME": spec.name,
            "POWERTOOLS_METRICS_NAMESPACE": "shopfn",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }
        if spec.timeout > API_GATEWAY_LIMIT_SECONDS:  # retrain: long queries, one container
            environment["DB_STATEMENT_TIMEOUT"] = str(spec.timeout - 60)
            environment["DB_STATEMENT_TIMEOUT_SCOPE"] = "transaction"
        jwt_secret = (
            database.jwt_signing_secret
            if Grant.JWT_SIGNING in self.grants
            else database.jwt_verify_secret
        )
        environment["JWT_SECRET_ARN"] = jwt_secret.secret_arn
        if Grant.ARTIFACTS_READ in self.grants or Grant.ARTIFACTS_WRITE in self.grants:
            environment["ARTIFACT_BUCKET"] = artifacts.bucket.bucket_name
        granted_secrets = _granted_secrets(self.grants, database)
        for variable, secret in granted_secrets.items():
            environment[variable] = secret.secret_arn
        if Grant.STRIPE_KEYS in self.grants:
            environment["SHOP_CURRENCY"] = config.shop_currency

        common = {
            "function_name": self.function_name,
            "description": spec.description[:256],
            "memory_size": spec.memory,
            "timeout": timeout or Duration.seconds(spec.timeout),
            "architecture": lambda_.Architecture.X86_64,
            "tracing": lambda_.Tracing.ACTIVE,
            "vpc": network.vpc,
            "vpc_subnets": network.app_subnets,
            "security_groups": [network.functions_security_group],
            "role": role,
            "environment": environment,
            "log_group": log_group,
            "reserved_concurrent_executions": reserved_concurrency,
        }
        if is_image(spec):
            self.function: lambda_.Function = lambda_.DockerImageFunction(
                self,
                "Function",
                code=lambda_.DockerImageCode.from_image_asset(
                    str(ROOT),
                    file=f"functions/{spec.name}/Dockerfile",
                    exclude=IMAGE_CONTEXT_EXCLUDES,
                ),
                **common,  # type: ignore[arg-type]
            )
        else:
            zip_path = _artifact(config.build_dir / "functions" / f"{spec.name}.zip")
            self.function = lambda_.Function(
                self,
                "Function",
                runtime=RUNTIME,
                handler=spec.handler,
                code=lambda_.Code.from_asset(str(zip_path)),
                layers=[layer.layer],
                **common,  # type: ignore[arg-type]
            )

        database.secret.grant_read(role)
        jwt_secret.grant_read(role)
        if Grant.ARTIFACTS_WRITE in self.grants:
            artifacts.bucket.grant_read_write(role)
        elif Grant.ARTIFACTS_READ in self.grants:
            artifacts.bucket.grant_read(role)
        for secret in granted_secrets.values():
            secret.grant_read(role)
        if Grant.INVOKE_SELF in self.grants:
            # By name, not by reference: a role naming its own function is a cycle in CFN.
            own_arn = Stack.of(self).format_arn(
                service="lambda",
                resource="function",
                resource_name=self.function_name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            role.add_to_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[own_arn])
            )
