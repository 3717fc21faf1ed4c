"""The compose path for real, without Docker: LocalStack on the host, the bootstrap script as
the `bootstrap` service runs it, then `shopfn serve` on PostgreSQL with the `api` service's
AWS settings pointing at LocalStack (signing keys from its Secrets Manager, models in its S3)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import jwt
import pytest
from pg_databases import create_postgres_database, drop_postgres_database
from servers import ROOT, ServeProcess, serve_environment
from support import PG_ADMIN_URL

pytestmark = pytest.mark.e2e

ADMIN_EMAIL, ADMIN_PASSWORD = "localstack-admin@example.com", "localstack admin password"
AWS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Platform:
    endpoint: str
    resources: dict[str, str]  # what the bootstrap printed
    served: ServeProcess

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=AWS["AWS_DEFAULT_REGION"],
            aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
        )

    def secret(self, name: str) -> dict:
        value = self.client("secretsmanager").get_secret_value(SecretId=self.resources[name])
        return json.loads(value["SecretString"])

    def admin(self) -> dict[str, str]:
        reply = httpx.post(
            f"{self.served.commerce}/users/login",
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
        assert reply.status_code == 200, reply.text
        return {"authorization": f"Bearer {reply.json()['access_token']}"}


def run_bootstrap(endpoint: str, prefix: str) -> dict[str, str]:
    """`python local/localstack/bootstrap.py --prefix ...`, as the compose service runs it."""
    env = {**os.environ, **AWS, "AWS_ENDPOINT_URL": endpoint, "POSTGRES_PASSWORD": "compose"}
    done = subprocess.run(
        [sys.executable, "local/localstack/bootstrap.py", "--prefix", prefix],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def platform(
    localstack_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    prefix = f"shopfn-{uuid.uuid4().hex[:6]}"
    resources = run_bootstrap(localstack_server, prefix)
    data_dir = tmp_path_factory.mktemp("serve-localstack")
    name = f"shopfn_localstack_{uuid.uuid4().hex[:10]}"
    env = serve_environment(
        data_dir,
        **AWS,
        AWS_ENDPOINT_URL=localstack_server,
        DATABASE_URL=create_postgres_database(PG_ADMIN_URL, name),
        JWT_SECRET_ARN=resources["jwt_signing_secret"],
        OPENAI_SECRET_ARN=resources["openai_secret"],
        ARTIFACT_BUCKET=resources["bucket"],
        RETRAIN_SCHEDULE="off",
        TRAIN_CUTOFFS="1",  # the first models on one cutoff, not three: a third of the time
        ADMIN_EMAIL=ADMIN_EMAIL,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    for leftover in ("JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"):
        env.pop(leftover, None)
    served = ServeProcess(data_dir, env)
    try:
        # The first start simulates a history and trains the first models: into LocalStack.
        yield Platform(localstack_server, resources, served.start(timeout=300))
    finally:
        served.close()
        drop_postgres_database(PG_ADMIN_URL, name)


def test_the_bootstrap_script_is_idempotent_and_keeps_the_signing_key(platform: Platform) -> None:
    prefix = platform.resources["bucket"].removesuffix("-artifacts")
    before = platform.secret("jwt_signing_secret")
    assert run_bootstrap(platform.endpoint, prefix) == platform.resources
    assert platform.secret("jwt_signing_secret") == before
    assert platform.secret("database_secret")["password"] == "compose"
    rule = platform.client("events").describe_rule(Name=platform.resources["retrain_rule"])
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"


def test_tokens_are_signed_with_the_key_pair_in_localstack(platform: Platform) -> None:
    public_pem = platform.secret("jwt_public_secret")["public_key"]
    assert public_pem == platform.secret("jwt_signing_secret")["public_key"]
    token = platform.admin()["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, public_pem, algorithms=["RS256"], audience="shopfn-api")
    assert claims["iss"] == "shopfn"

    keys = httpx.get(f"{platform.served.commerce}/users/.well-known/jwks.json").json()["keys"]
    assert [key["kid"] for key in keys] == [hashlib.sha256(public_pem.encode()).hexdigest()[:16]]
    assert not (platform.served.data_dir / "jwt_private.pem").exists()  # no local key made


def test_the_first_models_are_trained_into_the_bucket_and_served_from_it(
    platform: Platform,
) -> None:
    s3 = platform.client("s3")
    bucket = platform.resources["bucket"]
    pointers = {
        name: json.loads(
            s3.get_object(Bucket=bucket, Key=f"models/{name}/champion.json")["Body"].read()
        )["version"]
        for name in ("churn", "spend")
    }
    stored = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    for name, version in pointers.items():
        assert f"models/{name}/{version}/metadata.json" in stored
    assert not (platform.served.data_dir / "artifacts").exists()

    admin = platform.admin()
    models = httpx.get(f"{platform.served.ml}/ml/models", headers=admin)
    assert models.status_code == 200, models.text
    champions = {model["name"]: model["version"] for model in models.json() if model["is_champion"]}
    assert champions == pointers

    at_risk = httpx.get(f"{platform.served.ml}/ml/predictions/at-risk?limit=1", headers=admin)
    assert at_risk.status_code == 200, at_risk.text
    user_id = at_risk.json()[0]["user_id"]
    prediction = httpx.get(f"{platform.served.ml}/ml/predictions/users/{user_id}", headers=admin)
    assert prediction.status_code == 200, prediction.text
    assert prediction.json()["model_versions"] == pointers


def test_the_startup_block_names_the_bucket_as_the_model_store(platform: Platform) -> None:
    log = platform.served.log.read_text()
    assert f"s3://{platform.resources['bucket']}" in log
    assert "Traceback" not in log
