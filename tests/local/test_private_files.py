"""Local state is readable by its owner only: the SQLite database with its -wal and -shm
files and the signing key (the admin credentials: tests/local/test_serve_e2e.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask of a shell (022): files would be world-readable unless made private."""
    saved = os.umask(0o022)
    yield
    os.umask(saved)


def _write_through(db: Path) -> None:
    from shop.db import build_engine

    engine = build_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS t (x TEXT)"))
            connection.execute(text("INSERT INTO t VALUES ('secret')"))
        with engine.connect() as connection:  # WAL mode: the -wal and -shm files exist now
            assert Path(f"{db}-wal").exists() and Path(f"{db}-shm").exists()
            assert mode(db) == mode(Path(f"{db}-wal")) == mode(Path(f"{db}-shm")) == 0o600
    finally:
        engine.dispose()


def test_a_new_sqlite_database_and_its_wal_files_are_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    db = tmp_path / ".data" / "shopfn.db"
    _write_through(db)
    assert mode(db) == 0o600


def test_an_older_world_readable_database_is_made_owner_only(
    tmp_path: Path, open_umask: None
) -> None:
    db = tmp_path / "shopfn.db"
    for path in (db, Path(f"{db}-shm")):  # an empty file is an empty SQLite database
        path.touch()
        os.chmod(path, 0o644)
    from shop.db import build_engine

    build_engine(f"sqlite:///{db}").dispose()
    assert mode(db) == 0o600
    assert mode(Path(f"{db}-shm")) == 0o600


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_makes_no_file(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.db import build_engine

    monkeypatch.chdir(tmp_path)
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_the_generated_signing_key_is_owner_only(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.settings import get_settings
    from shop.signing_keys import get_key_pair

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JWT_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("JWT_PUBLIC_KEY", raising=False)
    get_settings.cache_clear()
    get_key_pair.cache_clear()
    try:
        get_key_pair()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        get_key_pair.cache_clear()
    assert mode(tmp_path / "jwt_private.pem") == 0o600
