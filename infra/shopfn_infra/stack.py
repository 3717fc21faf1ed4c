"""ShopfnStack: wires the constructs together; every decision lives in a construct."""

from __future__ import annotations

from aws_cdk import CfnOutput, Fn, Stack, Tags
from constructs import Construct

from shopfn.manifest import load_manifest
from shopfn_infra import cfn_lint_suppressions as lint
from shopfn_infra import nag_suppressions as nag
from shopfn_infra.apis import RestApis
from shopfn_infra.artifacts import BUCKET_READ, BUCKET_WRITE, ArtifactStore
from shopfn_infra.config import AZ_COUNT, StageConfig
from shopfn_infra.dashboard import Dashboard
from shopfn_infra.data import Database
from shopfn_infra.functions import SharedLayer, ShopFunction
from shopfn_infra.housekeeping import HOUSEKEEPING_FUNCTION, HousekeepingSchedule
from shopfn_infra.migrations import SchemaMigrations
from shopfn_infra.ml import RETRAIN_TIMEOUT, RetrainSchedule
from shopfn_infra.monitoring import Monitoring
from shopfn_infra.network import Network
from shopfn_infra.payment_expiry import PAYMENT_EXPIRY_FUNCTION, PaymentExpirySchedule
from shopfn_infra.permissions import Grant
from shopfn_infra.retrain_task import RetrainTask

RETRAIN = "retrain"


class ShopfnStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: StageConfig, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        self.stage_config = config
        Tags.of(self).add("project", "shopfn")
        Tags.of(self).add("stage", config.stage)
        manifest = load_manifest(config.manifest)

        network = Network(self, "Network", config=config)
        database = Database(self, "Data", config=config, network=network)
        artifacts = ArtifactStore(self, "Artifacts", config=config)
        layer = SharedLayer(self, "Shared", config=config)
        migrations = SchemaMigrations(
            self, "Migrations", config=config, layer=layer, network=network, database=database
        )

        functions: dict[str, ShopFunction] = {}
        for spec in manifest.functions:
            is_retrain = spec.name == RETRAIN
            function = ShopFunction(
                self,
                f"Fn{spec.name.title()}",
                spec=spec,
                config=config,
                layer=layer,
                network=network,
                database=database,
                artifacts=artifacts,
                timeout=RETRAIN_TIMEOUT if is_retrain else None,
                reserved_concurrency=1 if is_retrain else None,  # one training run at a time
            )
            function.node.add_dependency(migrations.resource)  # new code meets the new schema
            functions[spec.name] = function
            nag.lambda_function(
                function,
                asynchronous_failures_handled=is_retrain
                or spec.name in (HOUSEKEEPING_FUNCTION, PAYMENT_EXPIRY_FUNCTION),
            )

        apis = RestApis(self, "Apis", config=config, manifest=manifest, functions=functions)
        retrain = functions.get(RETRAIN)
        schedule = (
            RetrainSchedule(self, "Retrain", config=config, retrain=retrain.function)
            if retrain
            else None
        )
        (
            RetrainTask(
                self,
                "RetrainTask",
                config=config,
                network=network,
                database=database,
                artifacts=artifacts,
                retrain=retrain,
            )
            if retrain
            else None
        )
        users = functions.get(HOUSEKEEPING_FUNCTION)
        housekeeping = (
            HousekeepingSchedule(self, "Housekeeping", config=config, users=users.function)
            if users
            else None
        )
        expiry = self._payment_expiry(config, functions.get(PAYMENT_EXPIRY_FUNCTION))
        dashboard = Dashboard(
            self,
            "Dashboard",
            config=config,
            network=network,
            apis=apis,
            access_logs=artifacts.access_logs,
            proxy_secret=database.dashboard_proxy_secret,
        )
        Monitoring(
            self,
            "Monitoring",
            config=config,
            apis=apis,
            functions=functions,
            retrain=retrain,
            retrain_dead_letters=schedule.dead_letters if schedule else None,
            housekeeping_dead_letters=housekeeping.dead_letters if housekeeping else None,
            payment_expiry_dead_letters=expiry.dead_letters if expiry else None,
        )

        self._outputs(apis, dashboard, artifacts, database)
        bucket = self.resolve(self.get_logical_id(artifacts.bucket.node.default_child))
        for function in functions.values():
            if Grant.ARTIFACTS_WRITE in function.grants:
                nag.bucket_grants(function, bucket, *BUCKET_READ, *BUCKET_WRITE)
            elif Grant.ARTIFACTS_READ in function.grants:
                nag.bucket_grants(function, bucket, *BUCKET_READ)
        nag.lambda_function(migrations, asynchronous_failures_handled=False)
        nag.data(database, config)
        nag.jwt_key_secret(database.jwt_signing_secret)
        nag.jwt_key_secret(database.jwt_verify_secret)
        nag.openai_secret(database.openai_secret)
        nag.stripe_secret(database.stripe_secret)
        nag.apis(apis)
        nag.dashboard(dashboard, database.dashboard_proxy_secret)
        if schedule:
            nag.retrain_failures(schedule.dead_letters)
        if housekeeping:
            nag.retrain_failures(housekeeping.dead_letters, runs="housekeeping runs")
        lint.template(self, config)
        lint.vpc_default_security_group(network.default_security_group_handler)
        if retrain and schedule:
            # The whole construct: the nightly and the check rule's permissions alike.
            lint.scheduled(retrain.function, schedule, schedule.dead_letters, lint.RETRAIN_TRIGGERS)
        if users and housekeeping:
            lint.scheduled(
                users.function,
                housekeeping.rule,
                housekeeping.dead_letters,
                lint.HOUSEKEEPING_TRIGGERS,
            )

    def _payment_expiry(
        self, config: StageConfig, payments: ShopFunction | None
    ) -> PaymentExpirySchedule | None:
        """The rule that expires unpaid orders in the payments function (if it is deployed)."""
        if payments is None:
            return None
        expiry = PaymentExpirySchedule(
            self, "PaymentExpiry", config=config, payments=payments.function
        )
        nag.retrain_failures(expiry.dead_letters, runs="payment expiry runs")
        lint.scheduled(
            payments.function, expiry.rule, expiry.dead_letters, lint.PAYMENT_EXPIRY_TRIGGERS
        )
        return expiry

    def _outputs(
        self, apis: RestApis, dashboard: Dashboard, artifacts: ArtifactStore, database: Database
    ) -> None:
        for name, api in apis.apis.items():
            CfnOutput(self, f"{name.title()}ApiUrl", value=api.url)
        CfnOutput(
            self,
            "DashboardUrl",
            value=f"http://{dashboard.service.load_balancer.load_balancer_dns_name}",
        )
        CfnOutput(self, "ArtifactBucket", value=artifacts.bucket.bucket_name)
        CfnOutput(self, "OpenAiSecretArn", value=database.openai_secret.secret_arn)
        CfnOutput(self, "StripeSecretArn", value=database.stripe_secret.secret_arn)

    @property
    def availability_zones(self) -> list[str]:
        """The stage's AZs when it names them, else the region's first two at deploy time.

        CDK's own answer is a synth-time lookup (AWS credentials, cdk.context.json) once the
        account is known; Fn::GetAZs needs neither and writes no AZ name into the template.
        """
        named = self.stage_config.availability_zones
        return list(named) or [Fn.select(i, Fn.get_azs()) for i in range(AZ_COUNT)]
