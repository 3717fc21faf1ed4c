"""docker compose + LocalStack, checked without Docker: the compose file is consistent with
the code, and the LocalStack bootstrap creates what the APIs use (against LocalStack run on
the host, and against a moto server)."""

from __future__ import annotations

import json
import re
import sys
import uuid
from contextlib import ExitStack
from pathlib import Path

import boto3
import pytest
import yaml
from localstack_server import SERVICES as LOCALSTACK_SERVICES
from moto_server import moto_endpoint

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "local" / "docker-compose.yml"
sys.path.insert(0, str(ROOT / "local" / "localstack"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env(service: dict) -> dict[str, str]:
    return {key: str(value) for key, value in (service.get("environment") or {}).items()}


def test_compose_has_every_service_with_a_health_check(compose) -> None:
    services = compose["services"]
    assert {"postgres", "localstack", "bootstrap", "api", "dashboard"} <= set(services)
    for name in ("postgres", "localstack", "api", "dashboard"):
        assert services[name]["healthcheck"]["test"], name


def test_build_contexts_and_dockerfiles_exist(compose) -> None:
    built = [service for service in compose["services"].values() if "build" in service]
    assert len(built) >= 3
    for service in built:
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert context.is_dir()
        assert (context / service["build"].get("dockerfile", "Dockerfile")).is_file()


def test_the_api_image_installs_what_shopfn_serve_imports() -> None:
    """ml and support for the functions, cli for the progress bars of the first start's
    simulated history and training (tqdm): a group left out fails the container's first start."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    syncs = [line for line in dockerfile.splitlines() if "uv sync" in line]
    assert len(syncs) == 2, syncs
    for line in syncs:
        assert {"ml", "support", "cli"} <= set(re.findall(r"--group (\S+)", line)), line


def test_ports_are_the_documented_ones(compose) -> None:
    services = compose["services"]
    assert {"8001:8001", "8000:8000"} <= set(services["api"]["ports"])
    assert "5000:5000" in services["dashboard"]["ports"]
    assert any(port.endswith("4566:4566") for port in services["localstack"]["ports"])


def test_localstack_runs_the_services_the_platform_uses_and_takes_the_auth_token(compose) -> None:
    env = _env(compose["services"]["localstack"])
    services = set(env["SERVICES"].split(","))
    assert {"s3", "events", "secretsmanager", "lambda", "apigateway"} <= services
    assert set(LOCALSTACK_SERVICES) <= services  # the tests' LocalStack runs a part of them
    assert env["LOCALSTACK_AUTH_TOKEN"] == "${LOCALSTACK_AUTH_TOKEN:-}"


def test_api_environment_names_only_settings_the_code_reads(compose) -> None:
    from shop.ml.config import MlSettings
    from shop.settings import Settings

    known = {name.upper() for name in (*Settings.model_fields, *MlSettings.model_fields)}
    env = _env(compose["services"]["api"])
    for name in env:
        assert name in known or name.startswith(("AWS_", "POWERTOOLS_")), name
    assert env["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert (
        env["DATABASE_URL"].startswith("postgresql+pg8000://")
        and "@postgres:5432/" in env["DATABASE_URL"]
    )


def test_api_uses_the_names_the_bootstrap_creates(compose) -> None:
    from bootstrap import names

    command = compose["services"]["bootstrap"]["command"]
    prefix = command[command.index("--prefix") + 1]
    resources = names(prefix)
    env = _env(compose["services"]["api"])
    assert env["ARTIFACT_BUCKET"] == resources.bucket
    assert env["JWT_SECRET_ARN"] == resources.jwt_signing_secret
    assert env["OPENAI_SECRET_ARN"] == resources.openai_secret


def test_dashboard_reaches_the_apis_by_service_name(compose) -> None:
    env = _env(compose["services"]["dashboard"])
    assert env["COMMERCE_API_URL"] == "http://api:8001"
    assert env["ML_API_URL"] == "http://api:8000"
    assert compose["services"]["dashboard"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_dashboard_and_api_share_the_dashboard_proxy_secret(compose) -> None:
    """Without the same secret on both sides the API ignores the browser address forwarded."""
    api, dashboard = (_env(compose["services"][name]) for name in ("api", "dashboard"))
    assert api["DASHBOARD_PROXY_SECRET"] == dashboard["DASHBOARD_PROXY_SECRET"]
    assert api["DASHBOARD_PROXY_SECRET"].startswith("${DASHBOARD_PROXY_SECRET:-")


def test_postgres_credentials_match_between_database_and_api(compose) -> None:
    db_env = _env(compose["services"]["postgres"])
    url = _env(compose["services"]["api"])["DATABASE_URL"]
    match = re.match(r"postgresql\+pg8000://([^:]+):(.+)@postgres:5432/(\w+)$", url)
    assert match
    assert match.group(1) == db_env["POSTGRES_USER"]
    assert match.group(2) == db_env["POSTGRES_PASSWORD"]
    assert match.group(3) == db_env["POSTGRES_DB"]


# --- the bootstrap against LocalStack itself, and a moto server standing in for it ---------
@pytest.fixture(params=["localstack", "moto"])
def localstack(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """The endpoint of LocalStack run on the host, or of a moto server, in AWS_ENDPOINT_URL."""
    with ExitStack() as stack:
        if request.param == "localstack":
            endpoint = request.getfixturevalue("localstack_server")
        else:
            endpoint = stack.enter_context(moto_endpoint())
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setenv("POSTGRES_PASSWORD", "from-compose")
        yield endpoint


def test_bootstrap_creates_bucket_secrets_and_nightly_rule(localstack) -> None:
    from bootstrap import bootstrap

    prefix = f"shopfn-{uuid.uuid4().hex[:6]}"
    created = bootstrap(prefix, localstack)
    again = bootstrap(prefix, localstack)  # idempotent: a second `compose up` changes nothing
    assert again == created

    s3 = boto3.client("s3", endpoint_url=localstack)
    assert s3.get_bucket_versioning(Bucket=created.bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=created.bucket)["ServerSideEncryptionConfiguration"]
    assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=created.bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())

    secrets = boto3.client("secretsmanager", endpoint_url=localstack)

    def secret(name: str) -> dict:
        return json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])

    signing = secret(created.jwt_signing_secret)
    assert signing["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert secret(created.jwt_public_secret) == {"public_key": signing["public_key"]}
    assert secret(created.database_secret)["password"] == "from-compose"
    assert "api_key" in secret(created.openai_secret)

    events = boto3.client("events", endpoint_url=localstack)
    rule = events.describe_rule(Name=created.retrain_rule)
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)" and rule["State"] == "ENABLED"
    sqs = boto3.client("sqs", endpoint_url=localstack)
    assert sqs.get_queue_url(QueueName=created.retrain_failures_queue)["QueueUrl"]


def test_signing_key_from_the_bootstrap_signs_tokens_the_apis_accept(
    localstack, monkeypatch
) -> None:
    """The APIs read JWT_SECRET_ARN from LocalStack: a token they issue verifies."""
    from bootstrap import bootstrap

    from shop.settings import get_settings
    from shop.signing_keys import get_key_pair
    from shop.tokens import _signing_key, _verifying_key

    created = bootstrap(f"shopfn-{uuid.uuid4().hex[:6]}", localstack)
    monkeypatch.setenv("JWT_SECRET_ARN", created.jwt_signing_secret)
    for cache in (get_settings, get_key_pair, _signing_key, _verifying_key):
        cache.cache_clear()
    try:
        pair = get_key_pair()
        signing = json.loads(
            boto3.client("secretsmanager", endpoint_url=localstack).get_secret_value(
                SecretId=created.jwt_signing_secret
            )["SecretString"]
        )
        assert pair.public_pem == signing["public_key"] and pair.private_pem
    finally:
        monkeypatch.delenv("JWT_SECRET_ARN")
        for cache in (get_settings, get_key_pair, _signing_key, _verifying_key):
            cache.cache_clear()


def test_models_written_to_the_bootstrapped_bucket_are_read_back(localstack, monkeypatch) -> None:
    """retrain writes to LocalStack's S3 and predict reads from it (ARTIFACT_BUCKET + endpoint)."""
    from bootstrap import bootstrap

    from shop.ml.artifacts import ArtifactStore
    from shop.settings import get_settings

    created = bootstrap(f"shopfn-{uuid.uuid4().hex[:6]}", localstack)
    monkeypatch.setenv("ARTIFACT_BUCKET", created.bucket)
    get_settings.cache_clear()
    try:
        writer = ArtifactStore.from_settings()
        writer.save_version("churn", "v1", {"model.onnx": b"onnx-bytes"}, {"metrics": {}})
        writer.set_champion("churn", "v1")
        stored = ArtifactStore.from_settings().load_champion("churn")
        assert stored is not None and stored.files["model.onnx"] == b"onnx-bytes"
        keys = boto3.client("s3", endpoint_url=localstack).list_objects_v2(Bucket=created.bucket)
        assert any(item["Key"].endswith("model.onnx") for item in keys["Contents"])
    finally:
        get_settings.cache_clear()
