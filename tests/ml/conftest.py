"""ML fixtures: a simulated shop with trained champions, and a moto bucket per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ml_shop import TrainedShop, build_trained_shop


@pytest.fixture(scope="session")
def trained_shop(tmp_path_factory: pytest.TempPathFactory) -> TrainedShop:
    return build_trained_shop(tmp_path_factory.mktemp("trained-shop"))


@pytest.fixture
def model_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh moto S3 bucket as ARTIFACT_BUCKET, and an empty champion cache."""
    import boto3
    from moto import mock_aws

    from shop.ml.predictor import champions
    from shop.settings import get_settings

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("ARTIFACT_BUCKET", "shopfn-models")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    champions.clear()
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="shopfn-models")
        yield "shopfn-models"
    champions.clear()
    monkeypatch.undo()
    get_settings.cache_clear()
