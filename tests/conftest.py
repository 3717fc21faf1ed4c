"""Shared fixtures: a database per backend (SQLite, PostgreSQL, MariaDB) and a Lambda client.

PostgreSQL (127.0.0.1:5432, user postgres) and MariaDB (127.0.0.1:3306, user root) must be
running: tests that need them fail, never skip, when they are not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

BACKENDS = ("sqlite", "postgresql", "mariadb")
#: Suites that also run on PostgreSQL through PgBouncer in transaction mode ("pgbouncer").
POOLED_SUITES = ("api", "concurrency")
from pg_databases import create_postgres_database, drop_postgres_database  # noqa: E402
from pgbouncer import Pooler, pgbouncer  # noqa: E402
from support import MARIADB_ADMIN_URL, PG_ADMIN_URL  # noqa: E402 - after the path insert


def _worker_suffix() -> str:
    # Unique per process: several developers or agents may run the suite on one machine.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def _test_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keys and local state in a temporary folder; cheap bcrypt; settings re-read."""
    data_dir = tmp_path_factory.mktemp("data")
    saved = dict(os.environ)
    os.environ.update(
        {
            "DATA_DIR": str(data_dir),
            "ENVIRONMENT": "test",
            "BCRYPT_ROUNDS": "4",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    for name in (
        "OPENAI_API_KEY",
        "OPENAI_SECRET_ARN",
        "OPENAI_BASE_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_SECRET_ARN",
        "STRIPE_WEBHOOK_SECRET",
    ):
        os.environ.pop(name, None)  # a developer's real keys must never reach OpenAI or Stripe
    _reset_caches()
    yield
    os.environ.clear()
    os.environ.update(saved)
    _reset_caches()


def _reset_caches() -> None:
    from shop.db import reset_engine
    from shop.settings import get_settings
    from shop.signing_keys import get_key_pair
    from shop.tokens import _signing_key, _verifying_key

    get_settings.cache_clear()
    get_key_pair.cache_clear()
    _signing_key.cache_clear()
    _verifying_key.cache_clear()
    reset_engine()


@pytest.hookimpl(tryfirst=True)  # a mark, before pytest reads marks and fixture params
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests of the pooled suites that take every backend take PgBouncer's too."""
    if "database" not in metafunc.fixturenames:
        return
    if metafunc.definition.path.parent.name not in POOLED_SUITES:
        return
    marks = metafunc.definition.iter_markers("parametrize")
    if any("database" in str(mark.args[0]) for mark in marks):
        return  # the test chose its backends
    every = (*BACKENDS, "pgbouncer")
    metafunc.definition.add_marker(pytest.mark.parametrize("database", every, indirect=True))


@pytest.fixture(scope="session")
def pooler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pooler]:
    """PgBouncer in transaction mode in front of the test PostgreSQL, for the whole session."""
    with pgbouncer(PG_ADMIN_URL, tmp_path_factory.mktemp("pgbouncer")) as running:
        yield running


def _database_name(backend: str) -> str:
    kind = "_pgbouncer" if backend == "pgbouncer" else ""
    return f"shopfn_test{kind}_{_worker_suffix()}"


def _create_database(backend: str, tmp: Path, pooler: Pooler | None = None) -> str:
    """A fresh, empty database for `backend`; its SQLAlchemy URL."""
    import sqlalchemy as sa

    name = _database_name(backend)
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'shopfn.db'}"
    if backend == "postgresql":
        return create_postgres_database(PG_ADMIN_URL, name)
    if backend == "pgbouncer":
        assert pooler is not None
        return pooler.url_for(create_postgres_database(PG_ADMIN_URL, name))
    admin = sa.create_engine(MARIADB_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(
            sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    admin.dispose()
    return MARIADB_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}?charset=utf8mb4"


def _drop_database(backend: str) -> None:
    import sqlalchemy as sa

    name = _database_name(backend)
    if backend in ("postgresql", "pgbouncer"):
        drop_postgres_database(PG_ADMIN_URL, name)
    elif backend == "mariadb":
        admin = sa.create_engine(MARIADB_ADMIN_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database on each backend in turn; the engine points at it.

    "pgbouncer" is PostgreSQL reached through PgBouncer in transaction mode (POOLED_SUITES).
    """
    from shop.migrate import upgrade

    backend: str = request.param
    pooler = request.getfixturevalue("pooler") if backend == "pgbouncer" else None
    url = _create_database(backend, tmp_path_factory.mktemp(backend), pooler)
    os.environ["DATABASE_URL"] = url
    _reset_caches()
    upgrade()
    yield backend
    _reset_caches()
    os.environ.pop("DATABASE_URL", None)
    _drop_database(backend)


@pytest.fixture
def db(database: str) -> Iterator[str]:
    """An empty database for one test (rows from earlier tests are deleted first)."""
    from shop.db import get_engine
    from shop.models import Base

    engine = get_engine()
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    yield database


@pytest.fixture(scope="session")
def fake_stripe_server() -> Iterator[object]:
    """The fake Stripe API on 127.0.0.1, for the whole session."""
    from fake_stripe import FakeStripe

    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_api(fake_stripe_server: object) -> Iterator[object]:
    """The platform set up for Stripe (the fake server, emptied) for one test."""
    from fake_stripe import FakeStripe
    from paying import stripe_configured

    assert isinstance(fake_stripe_server, FakeStripe)
    fake_stripe_server.reset()
    with stripe_configured(fake_stripe_server) as fake:
        yield fake


@pytest.fixture
def client(db: str) -> object:
    """A client that calls the real Lambda handlers with API Gateway events."""
    from support import LambdaClient

    return LambdaClient()
