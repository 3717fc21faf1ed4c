"""The RS256 key pair: from the environment, Secrets Manager (AWS) or generated under DATA_DIR."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

from shop.secret_values import secret_string
from shop.settings import get_settings

_lock = threading.Lock()


@dataclass(frozen=True)
class KeyPair:
    private_pem: str | None  # None where a function only verifies
    public_pem: str

    @property
    def kid(self) -> str:
        """A stable key id: the SHA-256 of the public key, shortened."""
        return hashlib.sha256(self.public_pem.encode()).hexdigest()[:16]


def _from_secret(secret_arn: str) -> KeyPair:
    data = json.loads(secret_string(secret_arn))
    return KeyPair(private_pem=data.get("private_key"), public_pem=data["public_key"])


def _generate_pem_pair() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def _local_pair() -> KeyPair:
    """Read, or create once, the key pair in DATA_DIR (private key readable by its owner only)."""
    data_dir = get_settings().data_dir
    private_path, public_path = data_dir / "jwt_private.pem", data_dir / "jwt_public.pem"
    with _lock:
        if not private_path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            private_pem, public_pem = _generate_pem_pair()
            tmp = private_path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(private_pem)
            public_path.write_text(public_pem)
            try:
                os.link(tmp, private_path)  # atomic: the first process to create it wins
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        private_pem = private_path.read_text()
    from cryptography.hazmat.primitives import serialization

    # Only the public half is read from this key, and that needs no check of the primes
    # (about 40 ms of every local cold start of a function that only verifies tokens);
    # signing loads the key with the full check (shop.tokens).
    loaded = serialization.load_pem_private_key(
        private_pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    public_pem = (
        loaded.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPair(private_pem=private_pem, public_pem=public_pem)


@lru_cache(maxsize=1)
def get_key_pair() -> KeyPair:
    """The signing keys for this process, loaded once."""
    settings = get_settings()
    if settings.jwt_public_key:
        return KeyPair(private_pem=settings.jwt_private_key, public_pem=settings.jwt_public_key)
    if settings.jwt_secret_arn:
        return _from_secret(settings.jwt_secret_arn)
    return _local_pair()
