"""The synthesized CloudFormation template does what the deployment promises."""

from __future__ import annotations

import json
import tomllib

import pytest
from aws_cdk.assertions import Match
from infra_synth import CERTIFICATE_ARN, FIXTURE_MANIFEST, synth

MANIFEST = tomllib.loads(FIXTURE_MANIFEST.read_text())["functions"]
API_FUNCTIONS = [name for name in MANIFEST if name != "retrain"]


def resources(synth, kind: str) -> dict[str, dict]:
    return {
        key: value for key, value in synth.template["Resources"].items() if value["Type"] == kind
    }


def function(synth, name: str) -> tuple[str, dict]:
    for key, value in resources(synth, "AWS::Lambda::Function").items():
        if value["Properties"].get("FunctionName") == f"shopfn-dev-{name}":
            return key, value
    raise AssertionError(f"no function {name}")


def policy_text(synth, function_key: str) -> str:
    """Every IAM statement attached to the role of the given function, as JSON."""
    role = synth.template["Resources"][function_key]["Properties"]["Role"]["Fn::GetAtt"][0]
    attached = [
        value
        for value in resources(synth, "AWS::IAM::Policy").values()
        if {"Ref": role} in value["Properties"]["Roles"]
    ]
    return json.dumps(attached)


def logical_id(synth, kind: str, **properties) -> str:
    for key, value in resources(synth, kind).items():
        if all(value["Properties"].get(k) == v for k, v in properties.items()):
            return key
    raise AssertionError(f"no {kind} with {properties}")


# --- data ---------------------------------------------------------------------------------
def test_postgres_is_private_encrypted_and_reached_through_a_tls_proxy(dev) -> None:
    dev.assertions.has_resource_properties(
        "AWS::RDS::DBInstance",
        {
            "Engine": "postgres",
            "StorageEncrypted": True,
            "PubliclyAccessible": False,
            "MultiAZ": False,
            "DeletionProtection": False,
        },
    )
    dev.assertions.has_resource_properties(
        "AWS::RDS::DBProxy", {"EngineFamily": "POSTGRESQL", "RequireTLS": True}
    )
    dev.assertions.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"Name": "shopfn-dev/database", "GenerateSecretString": Match.object_like({})},
    )
    dev.assertions.resource_count_is("AWS::SecretsManager::RotationSchedule", 1)


def test_postgres_runs_the_pinned_minor_version_only(dev, prod) -> None:
    for stage in (dev, prod):
        stage.assertions.has_resource_properties(
            "AWS::RDS::DBInstance",
            {
                "EngineVersion": Match.string_like_regexp(r"^16\.\d+$"),
                "AutoMinorVersionUpgrade": False,
            },
        )


def test_subnets_take_their_zones_from_the_account_at_deploy_time(dev) -> None:
    zones = [
        subnet["Properties"]["AvailabilityZone"]
        for subnet in resources(dev, "AWS::EC2::Subnet").values()
    ]
    assert len(zones) == 6  # public, app and data in each of two zones
    assert {json.dumps(zone) for zone in zones} == {
        json.dumps({"Fn::Select": [index, {"Fn::GetAZs": ""}]}) for index in (0, 1)
    }


def test_a_stage_may_name_its_zones_instead() -> None:
    from aws_cdk import App
    from shopfn_infra.config import StageConfig

    named = StageConfig.from_context(
        App(context={"availabilityZones": "eu-west-1b, eu-west-1c"}).node
    )
    listed = StageConfig.from_context(App(context={"availabilityZones": ["eu-west-1a"]}).node)

    assert named.availability_zones == ("eu-west-1b", "eu-west-1c")
    assert listed.availability_zones == ("eu-west-1a",)
    assert StageConfig.from_context(App().node).availability_zones == ()


def test_prod_database_is_multi_az_and_protected_from_deletion(prod) -> None:
    prod.assertions.has_resource_properties(
        "AWS::RDS::DBInstance", {"MultiAZ": True, "DeletionProtection": True}
    )
    prod.assertions.has_resource("AWS::RDS::DBInstance", {"DeletionPolicy": "Snapshot"})


def test_jwt_signing_key_lives_in_secrets_manager(dev) -> None:
    for name in ("shopfn-dev/jwt-signing-key", "shopfn-dev/jwt-public-key"):
        dev.assertions.has_resource_properties("AWS::SecretsManager::Secret", {"Name": name})


# --- artifacts ----------------------------------------------------------------------------
def test_artifact_bucket_is_encrypted_versioned_private_and_tls_only(dev) -> None:
    dev.assertions.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "artifacts/"}),
        },
    )
    policies = json.dumps(resources(dev, "AWS::S3::BucketPolicy"))
    assert '"aws:SecureTransport": "false"' in policies


# --- APIs ---------------------------------------------------------------------------------
def test_two_rest_apis_with_tracing_access_logs_and_throttling(dev) -> None:
    dev.assertions.resource_count_is("AWS::ApiGateway::RestApi", 2)
    for name in ("shopfn-dev-commerce", "shopfn-dev-ml"):
        dev.assertions.has_resource_properties("AWS::ApiGateway::RestApi", {"Name": name})
    dev.assertions.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": "dev",
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
            "MethodSettings": Match.array_with(
                [Match.object_like({"ThrottlingRateLimit": 50, "MetricsEnabled": True})]
            ),
        },
    )


def test_one_lambda_per_manifest_function_behind_its_prefix(dev) -> None:
    for name, spec in MANIFEST.items():
        _, value = function(dev, name)
        properties = value["Properties"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        env = properties["Environment"]["Variables"]
        assert env["POWERTOOLS_SERVICE_NAME"] == name
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "shopfn"
        assert "DATABASE_SECRET_ARN" in env and "JWT_SECRET_ARN" in env
        assert properties["VpcConfig"]["SubnetIds"]
        assert properties.get("MemorySize") == spec.get("memory", 512)
        if name != "retrain":
            assert properties["Runtime"] == "python3.12"
            assert properties["Handler"] == spec["handler"]
            assert len(properties["Layers"]) == 1
        last_segment = spec["prefix"].rstrip("/").rsplit("/", 1)[1]
        dev.assertions.has_resource_properties(
            "AWS::ApiGateway::Resource", {"PathPart": last_segment}
        )
    # each prefix and its {proxy+}; /ml/retrain nests under predict's /ml
    dev.assertions.resource_count_is("AWS::ApiGateway::Resource", len(MANIFEST) * 2)
    dev.assertions.resource_count_is("AWS::ApiGateway::Method", len(MANIFEST) * 2)


def test_nothing_makes_rds_proxy_pin_a_session_by_default(dev) -> None:
    """No named prepared statements, no per-transaction SET: the role holds the timeout."""
    for name in API_FUNCTIONS:
        _, value = function(dev, name)
        env = value["Properties"]["Environment"]["Variables"]
        assert env["DB_PREPARE_THRESHOLD"] == "0"
        assert env["DB_STATEMENT_TIMEOUT_SCOPE"] == "role"
        assert 0 < float(env["DB_STATEMENT_TIMEOUT"]) < value["Properties"]["Timeout"]
    (migrate,) = resources(dev, "Custom::ShopfnMigrations").values()
    assert migrate["Properties"]["StatementTimeoutSeconds"] == env["DB_STATEMENT_TIMEOUT"]
    (proxy,) = resources(dev, "AWS::RDS::DBProxy").values()
    assert "InitQuery" not in json.dumps(proxy)  # no session SET for every connection either
    _, retrain = function(dev, "retrain")
    env = retrain["Properties"]["Environment"]["Variables"]
    assert env["DB_PREPARE_THRESHOLD"] == "0"
    assert float(env["DB_STATEMENT_TIMEOUT"]) < retrain["Properties"]["Timeout"]


def test_api_functions_time_out_before_api_gateway_gives_up(dev) -> None:
    for name in API_FUNCTIONS:
        _, value = function(dev, name)
        assert value["Properties"]["Timeout"] < 29


def test_function_logs_are_kept_for_a_bounded_time(dev, prod) -> None:
    for name in MANIFEST:
        dev.assertions.has_resource_properties(
            "AWS::Logs::LogGroup",
            {"LogGroupName": f"/aws/lambda/shopfn-dev-{name}", "RetentionInDays": 14},
        )
    prod.assertions.has_resource_properties(
        "AWS::Logs::LogGroup",
        {"LogGroupName": "/aws/lambda/shopfn-prod-users", "RetentionInDays": 90},
    )
    for value in resources(dev, "AWS::Logs::LogGroup").values():
        assert "RetentionInDays" in value["Properties"]


# --- least privilege ----------------------------------------------------------------------
def test_only_users_can_read_the_private_signing_key(dev) -> None:
    signing = logical_id(dev, "AWS::SecretsManager::Secret", Name="shopfn-dev/jwt-signing-key")
    public = logical_id(dev, "AWS::SecretsManager::Secret", Name="shopfn-dev/jwt-public-key")
    for name in MANIFEST:
        key, _ = function(dev, name)
        policies = policy_text(dev, key)
        assert (signing in policies) == (name == "users"), name
        assert (public in policies) == (name != "users"), name


def test_only_ml_functions_touch_the_bucket_and_only_retrain_writes(dev) -> None:
    for name in MANIFEST:
        key, _ = function(dev, name)
        policies = policy_text(dev, key)
        assert ("s3:GetObject" in policies) == (name in ("predict", "retrain")), name
        assert ("s3:PutObject" in policies) == (name == "retrain"), name
        assert ("lambda:InvokeFunction" in policies) == (name == "retrain"), name


def test_only_support_reads_the_openai_key(dev) -> None:
    openai = logical_id(dev, "AWS::SecretsManager::Secret", Name="shopfn-dev/openai")
    for name in MANIFEST:
        key, value = function(dev, name)
        assert (openai in policy_text(dev, key)) == (name == "support"), name
        env = value["Properties"]["Environment"]["Variables"]
        assert ("OPENAI_SECRET_ARN" in env) == (name == "support")


def test_only_orders_and_payments_read_the_stripe_keys(dev) -> None:
    stripe = logical_id(dev, "AWS::SecretsManager::Secret", Name="shopfn-dev/stripe")
    for name in MANIFEST:
        key, value = function(dev, name)
        allowed = name in ("orders", "payments")
        assert (stripe in policy_text(dev, key)) == allowed, name
        env = value["Properties"]["Environment"]["Variables"]
        assert ("STRIPE_SECRET_ARN" in env) == allowed
        assert env.get("SHOP_CURRENCY") == ("USD" if allowed else None)


def test_the_dashboard_proxy_secret_reaches_the_dashboard_and_the_throttling_functions(
    dev,
) -> None:
    """users (sign-in) and support (chat) believe the dashboard's forwarded address; the
    dashboard task gets the generated secret from Secrets Manager, never as plain text."""
    proxy = logical_id(dev, "AWS::SecretsManager::Secret", Name="shopfn-dev/dashboard-proxy")
    assert "GenerateSecretString" in dev.template["Resources"][proxy]["Properties"]
    for name in MANIFEST:
        key, value = function(dev, name)
        reads = name in ("users", "support")
        assert (proxy in policy_text(dev, key)) == reads, name
        env = value["Properties"]["Environment"]["Variables"]
        assert ("DASHBOARD_PROXY_SECRET_ARN" in env) == reads, name
    (container,) = [  # the dashboard's: the one serving Streamlit's port
        container
        for task in resources(dev, "AWS::ECS::TaskDefinition").values()
        for container in task["Properties"]["ContainerDefinitions"]
        if any(port.get("ContainerPort") == 5000 for port in container.get("PortMappings", []))
    ]
    assert container["Secrets"] == [{"Name": "DASHBOARD_PROXY_SECRET", "ValueFrom": {"Ref": proxy}}]
    env = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert "DASHBOARD_PROXY_SECRET" not in env
    # Streamlit trusts X-Forwarded-For from the load balancer only: from inside the VPC.
    assert env["FORWARDED_ALLOW_IPS"]["Fn::GetAtt"][1] == "CidrBlock"


def test_no_function_policy_grants_star_actions(dev) -> None:
    for value in resources(dev, "AWS::IAM::Policy").values():
        for statement in value["Properties"]["PolicyDocument"]["Statement"]:
            actions = (
                statement["Action"]
                if isinstance(statement["Action"], list)
                else [statement["Action"]]
            )
            assert "*" not in actions and not any(a.endswith(":*") for a in actions)


# --- ML -----------------------------------------------------------------------------------
def test_retrain_is_an_image_with_15_minutes_and_one_run_at_a_time(dev) -> None:
    _, value = function(dev, "retrain")
    assert value["Properties"]["PackageType"] == "Image"
    assert value["Properties"]["Timeout"] == 900
    assert value["Properties"]["ReservedConcurrentExecutions"] == 1


def test_nightly_rule_retries_and_dead_letters_retrain(dev) -> None:
    retrain, _ = function(dev, "retrain")
    dev.assertions.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [retrain, "Arn"]},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": 3,
                            "MaximumEventAgeInSeconds": 7200,
                        },
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                    }
                )
            ],
        },
    )
    # GET /ml/retrain/schedule describes this very rule, read from the function's settings.
    env = function(dev, "retrain")[1]["Properties"]["Environment"]["Variables"]
    assert env["RETRAIN_RULE_EXPRESSION"] == "cron(0 3 * * ? *)"
    assert env["RETRAIN_RULE_NAME"].endswith("-retrain-nightly")
    dev.assertions.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {"DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}}},
    )


def test_the_retrain_check_runs_every_15_minutes_with_its_fixed_input(dev) -> None:
    retrain, _ = function(dev, "retrain")
    dev.assertions.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Name": "shopfn-dev-retrain-check",
            "ScheduleExpression": "rate(15 minutes)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [retrain, "Arn"]},
                        "Input": json.dumps({"shopfn_retrain_check": True}, separators=(",", ":")),
                        "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 900},
                    }
                )
            ],
        },
    )


def test_large_shops_retrain_on_an_ecs_task_of_the_same_image(dev) -> None:
    retrain, value = function(dev, "retrain")
    (task_key,) = [
        key
        for key, task in resources(dev, "AWS::ECS::TaskDefinition").items()
        if task["Properties"].get("Family") == "shopfn-dev-retrain"
    ]
    task = dev.template["Resources"][task_key]["Properties"]
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert int(task["Memory"]) > 10240  # past one Lambda's 10 GB
    (container,) = task["ContainerDefinitions"]
    assert container["EntryPoint"] == ["python3", "-m", "retrain.task"]
    assert container["Image"] == value["Properties"]["Code"]["ImageUri"]  # one image, one push
    env = value["Properties"]["Environment"]["Variables"]
    assert env["RETRAIN_ECS_TASK_DEFINITION"] == {"Ref": task_key}
    assert int(env["RETRAIN_ECS_ABOVE_EVENTS"]) > 0
    assert {"RETRAIN_ECS_CLUSTER", "RETRAIN_ECS_SUBNETS", "RETRAIN_ECS_SECURITY_GROUPS"} <= set(env)
    policy = policy_text(dev, retrain)
    assert '"ecs:RunTask"' in policy and task_key in policy
    assert '"iam:PassRole"' in policy


def test_housekeeping_rule_runs_the_purge_in_the_users_function_hourly(dev) -> None:
    users, value = function(dev, "users")
    assert value["Properties"]["Timeout"] == 20  # the purge stops a little before this
    dev.assertions.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Name": "shopfn-dev-housekeeping",
            "ScheduleExpression": "rate(1 hour)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [users, "Arn"]},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": 2,
                            "MaximumEventAgeInSeconds": 3600,
                        },
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                    }
                )
            ],
        },
    )
    queue = logical_id(dev, "AWS::SQS::Queue", QueueName="shopfn-dev-housekeeping-failures")
    dev.assertions.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": users},
            "MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}},
        },
    )
    dev.assertions.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [users, "Arn"]},
            "Principal": "events.amazonaws.com",
        },
    )


def test_payment_expiry_rule_runs_in_the_payments_function_every_5_minutes(dev) -> None:
    payments, _ = function(dev, "payments")
    dev.assertions.has_resource_properties(
        "AWS::Events::Rule",
        {
            "Name": "shopfn-dev-payment-expiry",
            "ScheduleExpression": "rate(5 minutes)",
            "State": "ENABLED",
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Fn::GetAtt": [payments, "Arn"]},
                        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 600},
                        "DeadLetterConfig": {"Arn": Match.any_value()},
                    }
                )
            ],
        },
    )
    queue = logical_id(dev, "AWS::SQS::Queue", QueueName="shopfn-dev-payment-expiry-failures")
    dev.assertions.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": payments},
            "MaximumRetryAttempts": 0,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue, "Arn"]}}},
        },
    )


# --- dashboard ----------------------------------------------------------------------------
def test_dashboard_runs_on_fargate_behind_a_health_checked_load_balancer(dev) -> None:
    dev.assertions.has_resource_properties("AWS::ECS::Service", {"LaunchType": "FARGATE"})
    dev.assertions.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internet-facing"}
    )
    dev.assertions.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"HealthCheckPath": "/_stcore/health", "Port": 80, "Matcher": {"HttpCode": "200"}},
    )
    dev.assertions.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "PortMappings": [Match.object_like({"ContainerPort": 5000})],
                        "Environment": Match.array_with(
                            [Match.object_like({"Name": "COMMERCE_API_URL"})]
                        ),
                    }
                )
            ]
        },
    )


# --- monitoring ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("namespace", "metric", "count"),
    [
        ("AWS/ApiGateway", "5XXError", 2),
        ("AWS/ApiGateway", "Latency", 2),
        ("AWS/Lambda", "Throttles", len(MANIFEST)),
        ("AWS/Lambda", "Errors", 1),
        # retrain, housekeeping, payment expiry
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible", 3),
    ],
)
def test_alarms_watch_errors_latency_throttles_and_retraining(
    dev, namespace, metric, count
) -> None:
    alarms = [
        value["Properties"]
        for value in resources(dev, "AWS::CloudWatch::Alarm").values()
        if value["Properties"]["Namespace"] == namespace
        and value["Properties"]["MetricName"] == metric
    ]
    assert len(alarms) == count
    for alarm in alarms:
        assert alarm["AlarmActions"], "every alarm notifies the alarm topic"
        if metric == "Latency":
            assert alarm["ExtendedStatistic"] == "p99"


# --- migrations on deploy -----------------------------------------------------------------
def test_migrations_run_on_deploy_before_functions_update(dev) -> None:
    migrate = [
        key
        for key, value in dev.template["Resources"].items()
        if value["Type"] == "Custom::ShopfnMigrations"
    ]
    assert len(migrate) == 1
    dev.assertions.has_resource_properties(
        "AWS::Lambda::Function",
        {"FunctionName": "shopfn-dev-deploy-hooks", "Handler": "shop.deploy_hooks.handler"},
    )
    properties = dev.template["Resources"][migrate[0]]["Properties"]
    assert {"ProxyEndpoint", "DatabaseSecretArn", "JwtSigningSecretArn", "LayerVersionArn"} <= set(
        properties
    )
    for name in MANIFEST:
        _, value = function(dev, name)
        assert migrate[0] in value["DependsOn"]


# --- cdk-nag ------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cdk_nag_reports_no_unacknowledged_error_and_every_acknowledgment_has_a_reason(
    stage, request
) -> None:
    report = request.getfixturevalue(stage).report
    plugins = {plugin["pluginName"] for plugin in report["pluginReports"]}
    assert {"AwsSolutions", "Serverless"} <= plugins
    for plugin in report["pluginReports"]:
        errors = [v["ruleName"] for v in plugin["violations"] if v["severity"] == "error"]
        assert errors == [], plugin["pluginName"]
        for suppressed in plugin.get("suppressedViolations", []):
            assert len(suppressed["reason"]) > 30, suppressed["acknowledgedId"]


# --- HTTPS --------------------------------------------------------------------------------
def test_prod_without_a_certificate_does_not_synthesize_and_says_what_to_set(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"HTTPS.*certificateArn=arn:aws:acm"):
        synth(tmp_path, stage="prod")


def test_the_prod_dashboard_serves_https_and_redirects_http(prod) -> None:
    prod.assertions.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Protocol": "HTTPS", "Port": 443, "Certificates": [{"CertificateArn": CERTIFICATE_ARN}]},
    )
    prod.assertions.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Protocol": "HTTP",
            "Port": 80,
            "DefaultActions": [Match.object_like({"Type": "redirect"})],
        },
    )
