"""The VPC: public subnets for the load balancer, private ones for Lambdas, isolated for RDS."""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from shopfn_infra.config import StageConfig
from shopfn_infra.log_groups import stage_log_group

#: CDK's stack-wide function that empties the default security group of every VPC.
DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


class Network(Construct):
    """Two AZs, NAT for outbound calls (OpenAI, the dashboard's API calls), flow logs on."""

    def __init__(self, scope: Construct, id: str, *, config: StageConfig) -> None:
        super().__init__(scope, id)
        flow_logs = stage_log_group(self, "FlowLogs", config=config)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            availability_zones=Stack.of(self).availability_zones,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="app", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs)
                )
            },
        )
        self.default_security_group_handler = _default_sg_handler(self, config)
        self.app_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.data_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.functions_security_group = ec2.SecurityGroup(
            self,
            "FunctionsSg",
            vpc=self.vpc,
            description="shopfn Lambda functions: reach the database proxy and the internet",
            allow_all_outbound=True,
        )

    def cluster(self, scope: Construct) -> ecs.Cluster:
        """An ECS cluster (`Cluster` in `scope`) in this VPC, with Container Insights on."""
        return ecs.Cluster(
            scope, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )


def _default_sg_handler(scope: Construct, config: StageConfig) -> CfnResource:
    """CDK's default-security-group function, named and logging into a stage log group.

    Left alone it would write into a log group Lambda creates on first run, kept forever.
    """
    provider = Stack.of(scope).node.find_child(DEFAULT_SG_PROVIDER)
    handler = provider.node.find_child("Handler")
    assert isinstance(handler, CfnResource)
    name = f"{config.prefix}-vpc-default-sg"
    log_group = stage_log_group(scope, "DefaultSgLogs", config=config, name=f"/aws/lambda/{name}")
    handler.add_property_override("FunctionName", name)
    handler.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
    return handler
