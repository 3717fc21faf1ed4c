"""The deploy hook answers CloudFormation, writes the key pair once and migrates the schema."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest
import sqlalchemy as sa
from moto_server import moto_endpoint


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_endpoint() as endpoint:
        for name, value in {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        yield endpoint


@pytest.fixture
def cloudformation() -> Iterator[tuple[str, list[dict]]]:
    """A stand-in for CloudFormation's pre-signed response URL; collects what was PUT."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/response", received
    server.shutdown()


@pytest.fixture
def stack_secrets(aws: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from shop.db import reset_engine
    from shop.settings import get_settings

    client = boto3.client("secretsmanager", endpoint_url=aws)

    suffix = uuid.uuid4().hex[:8]  # moto's state outlives one server: names must be unique

    def create(name: str, value: dict) -> str:
        return client.create_secret(Name=f"{name}-{suffix}", SecretString=json.dumps(value))["ARN"]

    arns = {
        "DatabaseSecretArn": create("db", {"username": "shopfn", "password": "pw", "host": "db"}),
        "JwtSigningSecretArn": create("jwt", {"pending": True, "nonce": "x"}),
        "JwtVerifySecretArn": create("jwt-public", {"pending": True, "nonce": "y"}),
    }
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'deploy.db'}")
    monkeypatch.setenv("DATABASE_SECRET_ARN", arns["DatabaseSecretArn"])
    get_settings.cache_clear()
    reset_engine()
    yield arns
    get_settings.cache_clear()
    reset_engine()


def _event(kind: str, url: str, properties: dict[str, str]) -> dict:
    return {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/Shopfn-dev/1",
        "RequestId": f"request-{kind}",
        "LogicalResourceId": "MigrationsMigrate",
        "ResourceType": "Custom::ShopfnMigrations",
        "ResourceProperties": {"ProxyEndpoint": "proxy.example", **properties},
        **({"PhysicalResourceId": "shopfn-schema"} if kind != "Create" else {}),
    }


def _secret(arn: str) -> dict:
    client = boto3.client("secretsmanager")
    return json.loads(client.get_secret_value(SecretId=arn)["SecretString"])


def test_create_writes_keys_records_the_proxy_migrates_and_reports_success(
    stack_secrets, cloudformation
) -> None:
    from shop.db import get_engine
    from shop.deploy_hooks import handler

    url, received = cloudformation
    handler(_event("Create", url, stack_secrets), None)

    assert received[0]["Status"] == "SUCCESS", received
    assert received[0]["PhysicalResourceId"] == "shopfn-schema"
    assert received[0]["Data"]["SigningKeyGenerated"] == "true"
    signing = _secret(stack_secrets["JwtSigningSecretArn"])
    assert signing["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert _secret(stack_secrets["JwtVerifySecretArn"]) == {"public_key": signing["public_key"]}
    database = _secret(stack_secrets["DatabaseSecretArn"])
    assert database["proxy_host"] == "proxy.example" and database["password"] == "pw"
    tables = sa.inspect(get_engine()).get_table_names()
    assert "alembic_version" in tables and "users" in tables


def test_update_keeps_the_existing_signing_key(stack_secrets, cloudformation) -> None:
    from shop.deploy_hooks import handler

    url, received = cloudformation
    handler(_event("Create", url, stack_secrets), None)
    first = _secret(stack_secrets["JwtSigningSecretArn"])
    handler(_event("Update", url, stack_secrets), None)

    assert [r["Status"] for r in received] == ["SUCCESS", "SUCCESS"]
    assert received[1]["Data"]["SigningKeyGenerated"] == "false"
    assert _secret(stack_secrets["JwtSigningSecretArn"]) == first


def test_delete_touches_nothing(stack_secrets, cloudformation) -> None:
    from shop.deploy_hooks import handler

    url, received = cloudformation
    handler(_event("Delete", url, stack_secrets), None)
    assert received[0]["Status"] == "SUCCESS"
    assert _secret(stack_secrets["JwtSigningSecretArn"])["pending"] is True


def test_a_failure_is_reported_to_cloudformation_instead_of_hanging(
    stack_secrets, cloudformation
) -> None:
    from shop.deploy_hooks import handler

    url, received = cloudformation
    broken = {
        **stack_secrets,
        "JwtSigningSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:nope",
    }
    handler(_event("Create", url, broken), None)
    assert received[0]["Status"] == "FAILED"
    assert "ResourceNotFoundException" in received[0]["Reason"]


def test_the_statement_timeout_is_set_on_the_database_role(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new session of the role gets it, without a SET of its own (RDS Proxy: no pin)."""
    from support import PG_ADMIN_URL

    from shop.db import reset_engine
    from shop.deploy_hooks import set_role_statement_timeout
    from shop.settings import get_settings

    role = f"shopfn_hook_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    as_role = sa.engine.make_url(PG_ADMIN_URL).set(username=role)
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
    try:
        monkeypatch.setenv("DATABASE_URL", as_role.render_as_string(False))
        get_settings.cache_clear()
        reset_engine()
        set_role_statement_timeout(15)
        reset_engine()
        fresh = sa.create_engine(as_role)
        with fresh.connect() as connection:
            assert connection.execute(sa.text("SHOW statement_timeout")).scalar() == "15s"
        fresh.dispose()
        with admin.connect() as connection:
            assert connection.execute(sa.text("SHOW statement_timeout")).scalar() == "0"
    finally:
        reset_engine()
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP ROLE {role}"))
        admin.dispose()
        get_settings.cache_clear()
