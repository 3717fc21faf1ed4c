"""Alembic environment: runs on the connection `shop.migrate` hands over."""

from __future__ import annotations

from alembic import context

from shop.models import Base
from shop.models.commerce import declare_cancellations_index

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `shop.migrate` drives migrations
    raise RuntimeError("run migrations through `shopfn migrate` (shop.migrate.upgrade)")

declare_cancellations_index()  # kept out of the models' import (cold start)
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
