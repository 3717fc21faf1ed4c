"""The retrain image as an ECS Fargate task, for shops whose data outgrows one Lambda.

The retrain function stays the only entry point (the nightly rule, the 15-minute check,
POST /ml/retrain); when the shop has more behavior events than `retrain_ecs_above_events`,
it starts this task with the queued run's id instead of invoking itself. Same image, same
code, no 10 GB or 15-minute ceiling.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from shopfn_infra import nag_suppressions as nag
from shopfn_infra.artifacts import BUCKET_READ, BUCKET_WRITE, ArtifactStore
from shopfn_infra.config import ROOT, StageConfig
from shopfn_infra.data import Database
from shopfn_infra.email import allow_sending
from shopfn_infra.functions import IMAGE_CONTEXT_EXCLUDES, ShopFunction
from shopfn_infra.log_groups import stage_log_group
from shopfn_infra.network import Network

CONTAINER = "retrain"
#: Fargate's largest size at 8 vCPU: six times the memory of a 10 GB Lambda, no time limit.
TASK_CPU = 8192
TASK_MEMORY_MIB = 61440


class RetrainTask(Construct):
    """A cluster and task definition the retrain function starts with `ecs:RunTask`."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        network: Network,
        database: Database,
        artifacts: ArtifactStore,
        retrain: ShopFunction,
    ) -> None:
        super().__init__(scope, id)
        self.cluster = network.cluster(self)
        self.task = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=f"{config.prefix}-retrain",
            cpu=TASK_CPU,
            memory_limit_mib=TASK_MEMORY_MIB,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        container = self.task.add_container(
            CONTAINER,
            # The retrain function's own image (functions/retrain/Dockerfile): same asset.
            image=ecs.ContainerImage.from_asset(
                str(ROOT),
                file="functions/retrain/Dockerfile",
                exclude=IMAGE_CONTEXT_EXCLUDES,
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            entry_point=["python3", "-m", "retrain.task"],
            working_directory="/var/task",
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="retrain", log_group=stage_log_group(self, "Logs", config=config)
            ),
            environment={
                "ENVIRONMENT": config.stage,
                "DATABASE_SECRET_ARN": database.secret.secret_arn,
                "ARTIFACT_BUCKET": artifacts.bucket.bucket_name,
                "POWERTOOLS_SERVICE_NAME": "retrain",
                "POWERTOOLS_METRICS_NAMESPACE": "shopfn",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        database.secret.grant_read(self.task.task_role)
        artifacts.bucket.grant_read_write(self.task.task_role)
        # The nightly run on ECS runs the campaigns after training, as the function would.
        for name, value in allow_sending(self, self.task.task_role, config).items():
            container.add_environment(name, value)

        function = retrain.function
        subnets = network.vpc.select_subnets(subnet_type=network.app_subnets.subnet_type).subnet_ids
        for name, value in {
            "RETRAIN_ECS_CLUSTER": self.cluster.cluster_name,
            "RETRAIN_ECS_TASK_DEFINITION": self.task.task_definition_arn,
            "RETRAIN_ECS_CONTAINER": CONTAINER,
            "RETRAIN_ECS_SUBNETS": ",".join(subnets),
            "RETRAIN_ECS_SECURITY_GROUPS": network.functions_security_group.security_group_id,
            "RETRAIN_ECS_ABOVE_EVENTS": str(config.retrain_ecs_above_events),
        }.items():
            function.add_environment(name, value)
        assert function.role is not None
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[self.task.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": self.cluster.cluster_arn}},
            )
        )
        function.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[
                    self.task.task_role.role_arn,
                    self.task.obtain_execution_role().role_arn,
                ],
            )
        )
        stack = Stack.of(self)
        bucket = stack.resolve(stack.get_logical_id(artifacts.bucket.node.default_child))
        nag.retrain_task(self, bucket, *BUCKET_READ, *BUCKET_WRITE)
