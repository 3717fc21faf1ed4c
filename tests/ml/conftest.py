"""ML fixtures: a simulated shop with trained champions and fitted candidates, a moto bucket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ml_shop import TrainedShop, build_trained_shop
from support import FIXED_NOW


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    """Every ML test runs at FIXED_NOW (the clock starts there and runs), whatever the date."""
    import time_machine

    with time_machine.travel(FIXED_NOW, tick=True):
        yield


@pytest.fixture(scope="session")
def trained_shop(tmp_path_factory: pytest.TempPathFactory) -> TrainedShop:
    return build_trained_shop(tmp_path_factory.mktemp("trained-shop"))


@pytest.fixture(scope="session")
def fitted_candidates(trained_shop: TrainedShop) -> tuple[dict, object]:
    """Freshly fitted candidates of every kind by name, and the shop's current features."""
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.ml.dataset import build_examples, plan_cutoffs
    from shop.ml.features import compute_features
    from shop.ml.training import fit_candidates

    engine = build_engine(trained_shop.url)
    with Session(engine) as session:
        plan = plan_cutoffs(FIXED_NOW, 30)
        train = build_examples(session, plan.train, 30)
        frame = compute_features(session, FIXED_NOW, active_only=True)
    engine.dispose()
    return fit_candidates(train, plan), frame


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
