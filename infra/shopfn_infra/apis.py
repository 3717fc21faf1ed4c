"""The Commerce and ML REST APIs: each function's prefix routed to its Lambda (proxy)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from constructs import Construct

from shopfn.manifest import API_NAMES, Manifest
from shopfn_infra.config import StageConfig
from shopfn_infra.functions import ShopFunction
from shopfn_infra.log_groups import stage_log_group


class RestApis(Construct):
    """One REST API per `api` of the manifest, with access logs, X-Ray and throttling."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: StageConfig,
        manifest: Manifest,
        functions: dict[str, ShopFunction],
    ) -> None:
        super().__init__(scope, id)
        self.apis: dict[str, apigw.RestApi] = {}
        # An API with no function yet (e.g. before the ML functions land) would be an
        # invalid REST API without methods: only APIs that serve something are created.
        served = [api_name for api_name in API_NAMES if manifest.for_api(api_name)]
        for index, api_name in enumerate(served):
            access_logs = stage_log_group(self, f"{api_name.title()}AccessLogs", config=config)
            api = apigw.RestApi(
                self,
                f"{api_name.title()}Api",
                rest_api_name=f"{config.prefix}-{api_name}",
                description=f"shopfn {api_name} API ({config.stage})",
                endpoint_types=[apigw.EndpointType.REGIONAL],
                # The account-wide logging role is one per region: the first API sets it.
                cloud_watch_role=index == 0,
                cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if index == 0 else None,
                deploy_options=apigw.StageOptions(
                    stage_name=config.stage,
                    tracing_enabled=True,
                    metrics_enabled=True,
                    logging_level=apigw.MethodLoggingLevel.ERROR,
                    data_trace_enabled=False,
                    throttling_rate_limit=200 if config.is_prod else 50,
                    throttling_burst_limit=400 if config.is_prod else 100,
                    access_log_destination=apigw.LogGroupLogDestination(access_logs),
                    access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                        caller=False,
                        http_method=True,
                        ip=True,
                        protocol=True,
                        request_time=True,
                        resource_path=True,
                        response_length=True,
                        status=True,
                        user=False,
                    ),
                ),
            )
            self.apis[api_name] = api
            for spec in manifest.for_api(api_name):
                integration = apigw.LambdaIntegration(functions[spec.name].function, proxy=True)
                resource = api.root.resource_for_path(spec.prefix)
                resource.add_method("ANY", integration)
                resource.add_proxy(default_integration=integration, any_method=True)

    def url(self, api_name: str) -> str | None:
        """The invoke URL of `api_name`'s stage, None when that API serves nothing."""
        api = self.apis.get(api_name)
        return api.url if api else None
