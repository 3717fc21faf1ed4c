"""Throttles that hold under concurrency: requests for one key take turns while they count.

Counting recent attempts and then recording one more is two statements; run in parallel,
every request sees the same count and all get through. So each request first upserts one
row per key in `throttle_locks`: the upsert takes that row's lock (the database's write lock
on SQLite) and holds it until the request commits or rolls back, so the next request for the
key counts only after this one has recorded its attempt.
"""

from __future__ import annotations

import hashlib
import ipaddress
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.models import ThrottleLock


def address_bucket(address: str) -> str:
    """The bucket of a client address: the IPv4 address, or the IPv6 /64 network.

    One IPv6 customer usually holds a whole /64, so counting single addresses would let them
    rotate past the limit.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return f"addr:{address.strip()[:60]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def lock_keys(session: Session, *keys: str) -> None:
    """Lock the throttle rows of `keys` (created on first use) until the session's commit.

    Keys are locked in one fixed order, so two requests sharing keys never deadlock. On
    PostgreSQL this transaction's commit does not wait for its WAL flush: a count lost in a
    database crash only lets one more request through.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    now = utcnow()
    digests = sorted({hashlib.sha256(key.encode()).hexdigest() for key in keys})
    statement = _upsert(session.get_bind().dialect.name)
    for digest in digests:
        session.execute(statement, {"key": digest, "touched_at": now})


@cache
def _upsert(dialect: str) -> Any:
    """An INSERT that, for an existing key, updates it instead: either way the row is locked."""
    table: Any = ThrottleLock.__table__
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        statement: Any = mysql_insert(table)
        return statement.on_duplicate_key_update(touched_at=statement.inserted.touched_at)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.key], set_={"touched_at": statement.excluded.touched_at}
    )
