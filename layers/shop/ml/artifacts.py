"""ArtifactStore: versioned model files in S3 (or a local folder) that are verified before use.

Layout, the same in a bucket and under DATA_DIR/artifacts:

    models/<name>/<version>/<file>           the model files (ONNX graphs, a pickle, ...)
    models/<name>/<version>/metadata.json    version, features, windows, metrics, SHA-256s
    models/<name>/champion.json              {"version", "metadata_sha256"}: the served one

The champion pointer pins the SHA-256 of the metadata, the metadata pins the SHA-256 of each
file, so one verified chain leads from the pointer to every byte. Anything that does not
match is refused, and nothing is unpickled before its hash is checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from shop.settings import get_settings

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class ArtifactError(Exception):
    """An artifact is missing or unreadable."""


class ArtifactStoreUnavailable(ArtifactError):
    """The store cannot be reached (network, endpoint down): nothing was read or written."""


class ArtifactIntegrityError(ArtifactError):
    """An artifact's bytes do not match the SHA-256 recorded for them: refused."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Backend(Protocol):
    location: str

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes, content_type: str) -> None: ...


class _LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.location = str(root)

    def get(self, key: str) -> bytes | None:
        path = self.root / key
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file, even mid-retrain.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)


class _S3Backend:
    def __init__(self, bucket: str, endpoint_url: str | None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.location = f"s3://{bucket}"
        # Bounded: an unreachable endpoint fails a request in seconds, not boto's 60 s x 5.
        config = Config(
            connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3}
        )
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise ArtifactError(f"cannot read {key} from {self.location}") from exc
        except BotoCoreError as exc:
            raise ArtifactStoreUnavailable(f"cannot reach {self.location}: {exc}") from exc
        return body

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ServerSideEncryption="AES256",
            )
        except BotoCoreError as exc:
            raise ArtifactStoreUnavailable(f"cannot reach {self.location}: {exc}") from exc


@dataclass(frozen=True)
class StoredModel:
    """A model version whose metadata and files all passed verification."""

    name: str
    version: str
    metadata: dict[str, Any]
    files: dict[str, bytes]

    def unpickle(self, filename: str) -> Any:
        """The object pickled in `filename` (already verified against its SHA-256)."""
        return pickle.loads(self.files[filename])  # noqa: S301 - verified bytes only


class ArtifactStore:
    """Model versions and champion pointers in S3 or a local folder."""

    def __init__(self, backend: _Backend) -> None:
        self._backend = backend

    @classmethod
    def local(cls, root: Path) -> ArtifactStore:
        return cls(_LocalBackend(root))

    @classmethod
    def s3(cls, bucket: str, endpoint_url: str | None = None) -> ArtifactStore:
        return cls(_S3Backend(bucket, endpoint_url))

    @classmethod
    def from_settings(cls) -> ArtifactStore:
        """ARTIFACT_BUCKET (with AWS_ENDPOINT_URL for LocalStack/moto), else DATA_DIR/artifacts."""
        settings = get_settings()
        if settings.artifact_bucket:
            return cls.s3(settings.artifact_bucket, settings.aws_endpoint_url)
        return cls.local((settings.data_dir / "artifacts").resolve())

    @property
    def location(self) -> str:
        return self._backend.location

    def save_version(
        self, name: str, version: str, files: dict[str, bytes], metadata: dict[str, Any]
    ) -> dict[str, Any]:
        """Write the files and their metadata (with each file's SHA-256); the metadata written."""
        _check_parts(name, version, *files)
        document = {
            **metadata,
            "name": name,
            "version": version,
            "files": {filename: sha256_hex(data) for filename, data in files.items()},
        }
        for filename, data in files.items():
            self._backend.put(_key(name, version, filename), data, "application/octet-stream")
        # Metadata last: a version is visible only once all of its files are in place.
        self._backend.put(_key(name, version, "metadata.json"), _dump(document), "application/json")
        return document

    def set_champion(self, name: str, version: str) -> None:
        """Point `name`'s champion at `version` (whose metadata must exist)."""
        _check_parts(name, version)
        raw = self._backend.get(_key(name, version, "metadata.json"))
        if raw is None:
            raise ArtifactError(f"no metadata for {name} {version}")
        pointer = {"version": version, "metadata_sha256": sha256_hex(raw)}
        self._backend.put(f"models/{name}/champion.json", _dump(pointer), "application/json")

    def champion_version(self, name: str) -> tuple[str, str] | None:
        """(version, metadata SHA-256) of the champion, or None when there is none yet."""
        _check_parts(name)
        raw = self._backend.get(f"models/{name}/champion.json")
        if raw is None:
            return None
        try:
            pointer = json.loads(raw)
            return str(pointer["version"]), str(pointer["metadata_sha256"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ArtifactIntegrityError(f"the champion pointer of {name} is malformed") from exc

    def load_champion(self, name: str) -> StoredModel | None:
        """The verified champion of `name`, or None when no model was promoted yet."""
        found = self.champion_version(name)
        if found is None:
            return None
        version, metadata_sha = found
        return self.load_version(name, version, metadata_sha256=metadata_sha)

    def _metadata_bytes(self, name: str, version: str) -> bytes:
        _check_parts(name, version)
        raw = self._backend.get(_key(name, version, "metadata.json"))
        if raw is None:
            raise ArtifactError(f"no metadata for {name} {version}")
        return raw

    def load_metadata(self, name: str, version: str) -> dict[str, Any]:
        """A version's metadata alone (one small read, no model files), e.g. its drift reference."""
        try:
            metadata = json.loads(self._metadata_bytes(name, version))
        except ValueError as exc:
            raise ArtifactIntegrityError(f"metadata of {name} {version} is malformed") from exc
        if not isinstance(metadata, dict):
            raise ArtifactIntegrityError(f"metadata of {name} {version} is malformed")
        return metadata

    def load_version(
        self, name: str, version: str, *, metadata_sha256: str | None = None
    ) -> StoredModel:
        """A verified model version; ArtifactIntegrityError if any byte differs from its hash."""
        raw = self._metadata_bytes(name, version)
        if metadata_sha256 is not None and sha256_hex(raw) != metadata_sha256:
            raise ArtifactIntegrityError(f"metadata of {name} {version} does not match its hash")
        metadata = json.loads(raw)
        hashes = metadata.get("files")
        if not isinstance(hashes, dict):
            raise ArtifactIntegrityError(f"metadata of {name} {version} lists no file hashes")
        files: dict[str, bytes] = {}
        for filename, expected in hashes.items():
            _check_parts(filename)
            data = self._backend.get(_key(name, version, filename))
            if data is None:
                raise ArtifactError(f"{name} {version} is missing {filename}")
            if sha256_hex(data) != expected:
                raise ArtifactIntegrityError(
                    f"{filename} of {name} {version} does not match its SHA-256; refused"
                )
            files[filename] = data
        return StoredModel(name=name, version=version, metadata=metadata, files=files)


def _key(name: str, version: str, filename: str) -> str:
    return f"models/{name}/{version}/{filename}"


def _check_parts(*parts: str) -> None:
    for part in parts:
        if not _SAFE_PART.match(part):
            raise ArtifactError(f"unsafe artifact name {part!r}")


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True, default=str).encode()
