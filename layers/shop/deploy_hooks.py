"""The CloudFormation custom resource run on every deploy: keys, proxy endpoint, migrations.

CDK (`infra/shopfn_infra/migrations.py`) points a custom resource at `handler`. On Create
and Update it (1) writes an RS256 key pair into the signing-key secret if it holds none yet,
and the public half into the verify-only secret; (2) records the RDS Proxy endpoint in the
database secret (`proxy_host`, read by `shop.db`); (3) applies every migration head; (4) sets
the statement timeout on the database role (`StatementTimeoutSeconds`), so functions need no
per-transaction SET that would make RDS Proxy pin their sessions. Delete
does nothing: removing a stack must never drop data. The outcome is PUT to CloudFormation's
pre-signed ResponseURL, as the custom-resource protocol requires (no helper library needed).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

log = logging.getLogger("shop.deploy_hooks")
PHYSICAL_ID = "shopfn-schema"


def _secrets() -> Any:
    import boto3

    from shop.settings import get_settings

    return boto3.client("secretsmanager", endpoint_url=get_settings().aws_endpoint_url)


def _read_json(client: Any, secret_arn: str) -> dict[str, Any]:
    raw = client.get_secret_value(SecretId=secret_arn).get("SecretString") or "{}"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def ensure_signing_keys(
    signing_secret_arn: str, verify_secret_arn: str, client: Any | None = None
) -> bool:
    """Generate the token key pair once; keep the public secret in step. True if generated."""
    from shop.signing_keys import _generate_pem_pair

    client = client or _secrets()
    signing = _read_json(client, signing_secret_arn)
    generated = False
    if not signing.get("private_key") or not signing.get("public_key"):
        private_pem, public_pem = _generate_pem_pair()
        signing = {"private_key": private_pem, "public_key": public_pem}
        client.put_secret_value(SecretId=signing_secret_arn, SecretString=json.dumps(signing))
        generated = True
    public = _read_json(client, verify_secret_arn)
    if public.get("public_key") != signing["public_key"] or "private_key" in public:
        client.put_secret_value(
            SecretId=verify_secret_arn,
            SecretString=json.dumps({"public_key": signing["public_key"]}),
        )
    return generated


def record_proxy_host(database_secret_arn: str, proxy_endpoint: str) -> None:
    """Add the RDS Proxy endpoint to the credentials secret (rotation keeps extra keys)."""
    client = _secrets()
    secret = _read_json(client, database_secret_arn)
    if secret.get("proxy_host") != proxy_endpoint:
        secret["proxy_host"] = proxy_endpoint
        client.put_secret_value(SecretId=database_secret_arn, SecretString=json.dumps(secret))


def set_role_statement_timeout(seconds: float) -> None:
    """The default statement_timeout of the role shopfn connects as (new sessions; PostgreSQL)."""
    from sqlalchemy import text

    from shop.db import get_engine

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        return
    milliseconds = max(1, round(seconds * 1000))
    with engine.begin() as connection:
        connection.execute(text(f"ALTER ROLE CURRENT_USER SET statement_timeout = {milliseconds}"))


def prepare(properties: dict[str, Any]) -> dict[str, str]:
    """Everything a Create or Update does, in order; the data returned to CloudFormation."""
    from shop.db import reset_engine
    from shop.migrate import upgrade

    generated = ensure_signing_keys(
        properties["JwtSigningSecretArn"], properties["JwtVerifySecretArn"]
    )
    if properties.get("ProxyEndpoint"):
        record_proxy_host(properties["DatabaseSecretArn"], properties["ProxyEndpoint"])
    reset_engine()  # connect with the secret as it is now
    upgrade()
    if properties.get("StatementTimeoutSeconds"):
        set_role_statement_timeout(float(properties["StatementTimeoutSeconds"]))
    return {"Migrated": "heads", "SigningKeyGenerated": str(generated).lower()}


def send_response(event: dict[str, Any], status: str, reason: str, data: dict[str, str]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": event.get("PhysicalResourceId") or PHYSICAL_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        response.read()


def handler(event: dict[str, Any], context: Any) -> None:
    """Lambda entry point of the custom resource; always answers CloudFormation."""
    status, reason, data = "SUCCESS", "", {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            data = prepare(event["ResourceProperties"])
    except Exception as error:  # any failure must reach CloudFormation, or the deploy hangs
        log.exception("deploy hook failed")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"
    send_response(event, status, reason or f"see log stream {_stream(context)}", data)


def _stream(context: Any) -> str:
    return str(getattr(context, "log_stream_name", "unknown"))
