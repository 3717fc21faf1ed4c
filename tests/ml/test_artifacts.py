"""The artifact store keeps versioned models in S3 or a folder and refuses tampered bytes."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from shop.ml.artifacts import ArtifactError, ArtifactIntegrityError, ArtifactStore


@pytest.fixture
def s3_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[ArtifactStore]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="shopfn-artifacts")
        yield ArtifactStore.s3("shopfn-artifacts")


def _save(store: ArtifactStore, version: str = "v1") -> None:
    model = {"weights": [1.5, 2.5]}
    store.save_version(
        "churn",
        version,
        {"model.pkl": pickle.dumps(model), "model.onnx": b"onnx-bytes"},
        {"kind": "gbm", "features": ["recency_days", "orders_total"]},
    )


def test_moto_bucket_holds_versions_metadata_and_champion_pointer(s3_store: ArtifactStore) -> None:
    _save(s3_store)
    s3_store.set_champion("churn", "v1")
    keys = {
        item["Key"]
        for item in boto3.client("s3").list_objects_v2(Bucket="shopfn-artifacts")["Contents"]
    }
    assert keys == {
        "models/churn/v1/model.pkl",
        "models/churn/v1/model.onnx",
        "models/churn/v1/metadata.json",
        "models/churn/champion.json",
    }
    champion = s3_store.load_champion("churn")
    assert champion is not None and champion.version == "v1"
    assert champion.metadata["features"] == ["recency_days", "orders_total"]
    assert champion.unpickle("model.pkl") == {"weights": [1.5, 2.5]}


def test_tampered_model_file_in_s3_is_refused_before_unpickling(s3_store: ArtifactStore) -> None:
    _save(s3_store)
    s3_store.set_champion("churn", "v1")
    evil = pickle.dumps({"weights": [666]})
    boto3.client("s3").put_object(
        Bucket="shopfn-artifacts", Key="models/churn/v1/model.pkl", Body=evil
    )
    with pytest.raises(ArtifactIntegrityError):
        s3_store.load_champion("churn")


def test_tampered_metadata_is_refused_through_the_champion_pointer(tmp_path: Path) -> None:
    store = ArtifactStore.local(tmp_path)
    _save(store)
    store.set_champion("churn", "v1")
    metadata = tmp_path / "models/churn/v1/metadata.json"
    # Rewriting the metadata to bless other bytes breaks the pointer's hash.
    metadata.write_text(metadata.read_text().replace("recency_days", "recency_dayz"))
    with pytest.raises(ArtifactIntegrityError):
        store.load_champion("churn")


def test_local_folder_has_the_same_layout_and_no_champion_until_promoted(tmp_path: Path) -> None:
    store = ArtifactStore.local(tmp_path)
    assert store.load_champion("spend") is None
    _save(store, "v2")
    assert (tmp_path / "models/churn/v2/model.onnx").read_bytes() == b"onnx-bytes"
    assert store.load_champion("churn") is None
    store.set_champion("churn", "v2")
    loaded = store.load_version("churn", "v2")
    assert loaded.files["model.onnx"] == b"onnx-bytes"


def test_names_that_could_escape_the_store_are_refused(tmp_path: Path) -> None:
    store = ArtifactStore.local(tmp_path)
    with pytest.raises(ArtifactError):
        store.save_version("../etc", "v1", {"x": b""}, {})
    with pytest.raises(ArtifactError):
        store.load_version("churn", "../../secrets")


def test_settings_choose_the_bucket_or_the_local_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shop.settings import get_settings

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ARTIFACT_BUCKET", raising=False)
    get_settings.cache_clear()
    try:
        assert ArtifactStore.from_settings().location == str((tmp_path / "artifacts").resolve())
        monkeypatch.setenv("ARTIFACT_BUCKET", "my-bucket")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        get_settings.cache_clear()
        assert ArtifactStore.from_settings().location == "s3://my-bucket"
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
