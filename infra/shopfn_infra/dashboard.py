"""The Streamlit dashboard on ECS Fargate behind an Application Load Balancer."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as ecs_patterns
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from shopfn_infra.apis import RestApis
from shopfn_infra.config import ROOT, StageConfig
from shopfn_infra.functions import IMAGE_CONTEXT_EXCLUDES
from shopfn_infra.log_groups import stage_log_group
from shopfn_infra.network import Network

DASHBOARD_PORT = 5000
HEALTH_PATH = "/_stcore/health"  # Streamlit's own liveness endpoint


class Dashboard(Construct):
    """Fargate tasks in private subnets; only the load balancer is public."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        network: Network,
        apis: RestApis,
        access_logs: s3.IBucket,
        proxy_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, id)
        cluster = network.cluster(self)
        log_group = stage_log_group(self, "Logs", config=config)
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", config.certificate_arn)
            if config.certificate_arn
            else None
        )
        self.service = ecs_patterns.ApplicationLoadBalancedFargateService(
            self,
            "Service",
            cluster=cluster,
            cpu=512,
            memory_limit_mib=1024,
            desired_count=2 if config.is_prod else 1,
            public_load_balancer=True,
            task_subnets=network.app_subnets,
            certificate=certificate,
            redirect_http=certificate is not None,
            protocol=(
                elbv2.ApplicationProtocol.HTTPS if certificate else elbv2.ApplicationProtocol.HTTP
            ),
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            min_healthy_percent=100,  # start new tasks before stopping old ones
            task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
                # dashboard/Dockerfile, built from its own folder (it talks to the APIs only).
                image=ecs.ContainerImage.from_asset(
                    str(ROOT / "dashboard"), exclude=IMAGE_CONTEXT_EXCLUDES
                ),
                container_port=DASHBOARD_PORT,
                log_driver=ecs.LogDrivers.aws_logs(stream_prefix="dashboard", log_group=log_group),
                environment={
                    "ENVIRONMENT": config.stage,
                    **{
                        f"{name.upper()}_API_URL": url
                        for name in ("commerce", "ml")
                        if (url := apis.url(name))
                    },
                    # Streamlit's server (uvicorn) takes the browser's address from the load
                    # balancer's X-Forwarded-For: the last entry not from inside the VPC.
                    "FORWARDED_ALLOW_IPS": network.vpc.vpc_cidr_block,
                },
                # The APIs believe the browser address the dashboard forwards only with it.
                secrets={"DASHBOARD_PROXY_SECRET": ecs.Secret.from_secrets_manager(proxy_secret)},
            ),
        )
        self.service.target_group.configure_health_check(
            path=HEALTH_PATH,
            healthy_http_codes="200",
            interval=Duration.seconds(30),
            timeout=Duration.seconds(5),
        )
        self.service.load_balancer.log_access_logs(access_logs, prefix="dashboard-alb")
        self.service.load_balancer.set_attribute(
            "routing.http.drop_invalid_header_fields.enabled", "true"
        )
