"""The model store (S3) unreachable: a moto server stopped during a retrain and at a cold start
of predict. A run fails with its reason and leaves the champion alone; predict answers 503
until the store is back, then serves without a restart."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from ml_shop import TrainedShop
from servers import free_port
from support import LambdaClient, make_admin

BUCKET = "shopfn-outage-models"


class StoppableS3:
    """A moto S3 server on one port that can be stopped and started again (state is kept)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def champion(self, name: str) -> bytes:
        client = boto3.client("s3", endpoint_url=self.endpoint)
        return client.get_object(Bucket=BUCKET, Key=f"models/{name}/champion.json")["Body"].read()


@pytest.fixture
def s3(trained_shop: TrainedShop, monkeypatch: pytest.MonkeyPatch) -> Iterator[StoppableS3]:
    """The trained shop's champions in a moto bucket, as ARTIFACT_BUCKET at AWS_ENDPOINT_URL."""
    from shop.ml.predictor import champions
    from shop.settings import get_settings

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    server = StoppableS3()
    server.start()
    client = boto3.client("s3", endpoint_url=server.endpoint)
    client.create_bucket(Bucket=BUCKET)
    root = trained_shop.data_dir / "artifacts"
    for path in root.rglob("*"):
        if path.is_file():
            client.put_object(
                Bucket=BUCKET, Key=path.relative_to(root).as_posix(), Body=path.read_bytes()
            )
    monkeypatch.setenv("ARTIFACT_BUCKET", BUCKET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    get_settings.cache_clear()
    champions.clear()
    yield server
    server.stop()
    champions.clear()
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def shop_copy(trained_shop: TrainedShop, tmp_path: Path) -> Iterator[str]:
    """The trained shop's database, copied (the session's own stays as it is), as the engine's."""
    from shop.db import reset_engine
    from shop.settings import get_settings

    copy = tmp_path / "shop.db"
    shutil.copy(trained_shop.url.split("///", 1)[1], copy)
    os.environ["DATABASE_URL"] = f"sqlite:///{copy}"
    get_settings.cache_clear()
    reset_engine()
    yield os.environ["DATABASE_URL"]
    os.environ.pop("DATABASE_URL", None)
    get_settings.cache_clear()
    reset_engine()


def test_a_retrain_without_the_store_fails_with_its_reason_and_keeps_the_champion(
    s3: StoppableS3, shop_copy: str
) -> None:
    from shop.db import session_scope
    from shop.ml.retraining import execute_run
    from shop.ml.runs import queue_run
    from shop.models import ModelVersion, TrainingRun

    before = {name: s3.champion(name) for name in ("churn", "spend")}
    with session_scope() as session:
        run_id = queue_run(session, "manual").id
        champions_before = session.query(ModelVersion).filter_by(is_champion=True).count()
    s3.stop()
    execute_run(run_id)
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        assert run is not None
        assert (run.status, run.promoted) == ("failed", False)
        assert "cannot reach s3://" in (run.reason or "")
        assert session.query(ModelVersion).filter_by(is_champion=True).count() == champions_before
    s3.start()
    assert {name: s3.champion(name) for name in ("churn", "spend")} == before


def test_predict_at_a_cold_start_without_the_store_is_503_until_it_is_back(
    s3: StoppableS3, shop_copy: str
) -> None:
    from shop.db import session_scope
    from shop.models import User

    client = LambdaClient()
    admin = make_admin(client)
    with session_scope() as session:
        shopper = session.query(User).filter_by(role="customer").first()
        assert shopper is not None
        shopper_id = shopper.id
    s3.stop()
    down = client.get(f"/ml/predictions/users/{shopper_id}", token=admin.access_token)
    assert down.status == 503 and down.is_problem
    assert "model store cannot be reached" in down.json()["detail"]
    s3.start()
    up = client.get(f"/ml/predictions/users/{shopper_id}", token=admin.access_token)
    assert up.status == 200, up.body
    assert set(up.json()["model_versions"]) == {"churn", "spend"}
