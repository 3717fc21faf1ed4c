"""Schema migrations (Alembic) run from code: by `shopfn migrate`, tests and the deploy hook."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from shop.db import get_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine | None = None, revision: str = "heads") -> None:
    """Bring the database schema up to `revision` (every branch head by default).

    Each feature area (commerce, support, ml) has its own migration branch off the initial
    schema, so teams can add tables independently; "heads" applies them all.
    """
    from alembic import command

    engine = engine or get_engine()
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def revision(message: str, engine: Engine | None = None) -> None:
    """Autogenerate a new migration against `engine`'s current schema (developers only)."""
    from alembic import command

    engine = engine or get_engine()
    config = _config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
