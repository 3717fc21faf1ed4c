"""Where the OpenAI key comes from: the environment, or Secrets Manager in AWS."""

from __future__ import annotations

import json

import pytest
from chatting import reconfigure

from shop.services.support.openai_chat import api_key


def test_no_key_anywhere_means_offline(settings_env: pytest.MonkeyPatch) -> None:
    reconfigure()

    assert api_key() is None


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        (json.dumps({"api_key": "sk-from-secrets"}), "sk-from-secrets"),
        ("sk-plain-string", "sk-plain-string"),
        (json.dumps({"pending": True, "nonce": "x"}), None),  # the deploy's placeholder
    ],
)
def test_key_is_read_from_secrets_manager(
    settings_env: pytest.MonkeyPatch, stored: str, key: str | None
) -> None:
    import boto3
    from moto import mock_aws

    settings_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    settings_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    settings_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="shopfn/openai", SecretString=stored
        )["ARN"]
        settings_env.setenv("OPENAI_SECRET_ARN", arn)
        reconfigure()

        assert api_key() == key


def test_environment_key_wins_over_the_secret(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("OPENAI_API_KEY", "sk-env")
    settings_env.setenv("OPENAI_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:x")
    reconfigure()

    assert api_key() == "sk-env"


def test_unreadable_secret_means_offline_not_an_error(settings_env: pytest.MonkeyPatch) -> None:
    from moto import mock_aws

    settings_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    settings_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    settings_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings_env.setenv("OPENAI_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:missing")
    with mock_aws():
        reconfigure()

        assert api_key() is None


def test_a_failed_secret_read_is_retried_after_a_pause(
    settings_env: pytest.MonkeyPatch,
) -> None:
    import boto3
    from moto import mock_aws

    from shop.services.support import openai_chat

    settings_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    settings_env.setenv("AWS_ACCESS_KEY_ID", "testing")
    settings_env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("secretsmanager")
        arn = client.create_secret(Name="shopfn/openai", SecretString="sk-first")["ARN"]
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        settings_env.setenv("OPENAI_SECRET_ARN", "shopfn/openai")
        reconfigure()
        assert api_key() is None
        client.create_secret(Name="shopfn/openai", SecretString="sk-restored")

        assert api_key() is None  # within the pause: no new call to Secrets Manager
        settings_env.setattr(openai_chat, "SECRET_RETRY_SECONDS", 0.0)
        assert api_key() == "sk-restored"
